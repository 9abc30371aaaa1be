"""/v2 monitoring routes (SPEC.md table: monitors:read/write, alerts:read/write)."""

from django.urls import path

from statuspool.monitoring import api

urlpatterns = [
    path("monitors", api.MonitorList.as_view(), name="api-monitor-list"),
    path("monitors/<int:pk>", api.MonitorDetail.as_view(), name="api-monitor-detail"),
    path("monitors/<int:pk>/uptime", api.MonitorUptime.as_view(), name="api-monitor-uptime"),
    path(
        "monitors/<int:pk>/incidents", api.MonitorIncidents.as_view(), name="api-monitor-incidents"
    ),
    path("incidents", api.IncidentList.as_view(), name="api-incident-list"),
    path("incidents/<int:pk>", api.IncidentDetail.as_view(), name="api-incident-detail"),
    path("alert-rules", api.AlertRuleList.as_view(), name="api-alert-rule-list"),
    path("alert-rules/<int:pk>", api.AlertRuleDetail.as_view(), name="api-alert-rule-detail"),
    path("notification-channels", api.ChannelList.as_view(), name="api-channel-list"),
    path("notification-channels/<uuid:pk>", api.ChannelDetail.as_view(), name="api-channel-detail"),
    path("dispatches", api.DispatchList.as_view(), name="api-dispatch-list"),
]
