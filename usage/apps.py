from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "API usage"

    def ready(self):
        from statuspool.api.signals import api_request_finished
        from usage import lastused, requestlog, tasks  # noqa: F401  (tasks: registers them)

        # The request log first: its entry leads the request's one Redis round trip.
        api_request_finished.connect(
            requestlog.on_api_request_finished, dispatch_uid="usage.requestlog"
        )
        api_request_finished.connect(
            lastused.on_api_request_finished, dispatch_uid="usage.lastused"
        )
