from django.urls import path

from statuspool.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.monitor_list, name="monitor_list"),
    path("<int:monitor_id>/", views.monitor_detail, name="monitor_detail"),
]
