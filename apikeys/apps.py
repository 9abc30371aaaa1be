from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self):
        # Connects the /v2 usage receiver; registers the usage task (not in tasks.py, so Celery's
        # autodiscovery would not find it).
        from apikeys import usage, usage_tasks  # noqa: F401
