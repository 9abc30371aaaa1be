"""/v2 monitoring endpoints: monitors, uptime, incidents, alert rules, channels, dispatches.

Every queryset goes through ``AccountScopedView.get_queryset`` (the credential's account only).
"""

from datetime import timedelta

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from statuspool.api.generics import (
    AccountScopedView,
    CreateMixin,
    DestroyMixin,
    ListMixin,
    RetrieveMixin,
    UpdateMixin,
)
from statuspool.api.pagination import CursorPagination, OldestFirst
from statuspool.monitoring import serializers as s
from statuspool.monitoring.models import (
    AlertDispatch,
    AlertRule,
    Incident,
    Monitor,
    NotificationChannel,
)

MONITORS = {"GET": "monitors:read", "POST": "monitors:write"}
MONITOR = {
    "GET": "monitors:read",
    "PUT": "monitors:write",
    "PATCH": "monitors:write",
    "DELETE": "monitors:write",
}
ALERTS = {"GET": "alerts:read", "POST": "alerts:write"}
ALERT = {
    "GET": "alerts:read",
    "PUT": "alerts:write",
    "PATCH": "alerts:write",
    "DELETE": "alerts:write",
}


class Oldest(CursorPagination):
    ordering = "id"


# The id breaks ties between rows with the same time, so a cursor never skips or repeats one.
class NewestIncidents(CursorPagination):
    ordering = ("-started_at", "-id")


class NewestDispatches(CursorPagination):
    ordering = ("-sent_at", "-id")


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


# --- Monitors ----------------------------------------------------------------------------------
class _MonitorView(AccountScopedView):
    queryset = Monitor.objects.with_open_incident()
    output_serializer_class = s.MonitorSerializer
    pagination_class = Oldest


class MonitorList(ListMixin, CreateMixin, _MonitorView):
    """Monitors of the account with their check configuration and current status."""

    required_scopes = MONITORS


class MonitorDetail(RetrieveMixin, UpdateMixin, DestroyMixin, _MonitorView):
    """One monitor. PUT replaces the check configuration, PATCH changes the fields sent."""

    required_scopes = MONITOR


class MonitorUptime(AccountScopedView):
    """Daily uptime history of one monitor (UTC days, newest first) and the total over ?days=."""

    required_scopes = {"GET": "monitors:read"}
    queryset = Monitor.objects.only("id", "account_id")
    output_serializer_class = s.UptimeSerializer

    @extend_schema(parameters=[s.UptimeQuerySerializer])
    def get(self, request, pk):
        days = _query(s.UptimeQuerySerializer, request)["days"]
        monitor = self.get_object()
        since = timezone.now().date() - timedelta(days=days - 1)
        history = list(monitor.uptime_days.filter(day__gte=since).order_by("-day"))
        checks = sum(day.checks for day in history)
        failures = sum(day.failures for day in history)
        percent = round(100.0 * (checks - failures) / checks, 3) if checks else None
        data = {"monitor": monitor.pk, "days": days, "uptime_percent": percent, "history": history}
        return Response(s.UptimeSerializer(data).data)


# --- Incidents ---------------------------------------------------------------------------------
class _IncidentView(AccountScopedView):
    queryset = Incident.objects.all()
    output_serializer_class = s.IncidentSerializer
    pagination_class = NewestIncidents

    def filter_queryset(self, queryset):
        status = _query(s.IncidentQuerySerializer, self.request).get("status")
        return queryset.filter(status=status) if status else queryset


@extend_schema(parameters=[s.IncidentQuerySerializer])
class IncidentList(ListMixin, _IncidentView):
    """Incidents of every monitor of the account, newest first; ?status=open|resolved."""

    required_scopes = {"GET": "monitors:read"}


class IncidentDetail(RetrieveMixin, _IncidentView):
    """One incident."""

    required_scopes = {"GET": "monitors:read"}


@extend_schema(parameters=[s.IncidentQuerySerializer])
class MonitorIncidents(ListMixin, _IncidentView):
    """Incidents of one monitor, newest first; ?status=open|resolved."""

    required_scopes = {"GET": "monitors:read"}

    def get_queryset(self):
        monitor = self.account_scoped(Monitor.objects.only("id")).filter(pk=self.kwargs["pk"])
        if not monitor.exists():
            raise Http404
        return super().get_queryset().filter(monitor_id=self.kwargs["pk"])


# --- Alert rules, channels, dispatches ---------------------------------------------------------
class _AlertRuleView(AccountScopedView):
    queryset = AlertRule.objects.prefetch_related(
        Prefetch("channels", queryset=NotificationChannel.objects.only("id"))
    )
    output_serializer_class = s.AlertRuleSerializer
    pagination_class = Oldest


class AlertRuleList(ListMixin, CreateMixin, _AlertRuleView):
    """Alert rules: which condition on which monitor alerts which channels."""

    required_scopes = ALERTS


class AlertRuleDetail(RetrieveMixin, UpdateMixin, DestroyMixin, _AlertRuleView):
    """One alert rule."""

    required_scopes = ALERT


class _ChannelView(AccountScopedView):
    queryset = NotificationChannel.objects.all()
    output_serializer_class = s.ChannelSerializer
    input_serializer_class = s.ChannelInputSerializer
    pagination_class = OldestFirst


class ChannelList(ListMixin, CreateMixin, _ChannelView):
    """Notification channels. Their secret (webhook URL, routing key) is write-only."""

    required_scopes = ALERTS


class ChannelDetail(RetrieveMixin, UpdateMixin, DestroyMixin, _ChannelView):
    """One notification channel. Send ``secret`` to replace it; it is never returned."""

    required_scopes = ALERT


@extend_schema(parameters=[s.DispatchQuerySerializer])
class DispatchList(ListMixin, AccountScopedView):
    """Alerts sent (or attempted) to notification channels, newest first; ?status=sent|failed."""

    required_scopes = {"GET": "alerts:read"}
    queryset = AlertDispatch.objects.all()
    output_serializer_class = s.DispatchSerializer
    pagination_class = NewestDispatches

    def filter_queryset(self, queryset):
        status = _query(s.DispatchQuerySerializer, self.request).get("status")
        return queryset.filter(status=status) if status else queryset
