from django.apps import AppConfig


class LeakReportsConfig(AppConfig):
    name = "statuspool.leak_reports"
    label = "leak_reports"
    verbose_name = "Leaked-credential reports"
