from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from audit.requestlog import on_api_request_finished
        from statuspool.api.signals import api_request_finished

        api_request_finished.connect(on_api_request_finished, dispatch_uid="audit.requestlog")
