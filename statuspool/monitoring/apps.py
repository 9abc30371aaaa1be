from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "statuspool.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"
