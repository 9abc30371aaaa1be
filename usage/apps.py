from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate


def _ensure_request_log_partitions(sender, using, **kwargs):
    """After `migrate`: the current and next months' request-log partitions (PostgreSQL), so a
    fresh `make run` has them before beat's first daily run."""
    from usage import partitions

    if using == DEFAULT_DB_ALIAS:
        partitions.ensure_partitions()


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "API usage"

    def ready(self):
        from statuspool.api.signals import api_request_finished
        from usage import ipnetworks, lastused, requestlog, tasks  # noqa: F401  (tasks: registers them)

        ipnetworks.install()  # the SQLite function behind ip__in_network

        # The request log first: its entry leads the request's one Redis round trip.
        api_request_finished.connect(
            requestlog.on_api_request_finished, dispatch_uid="usage.requestlog"
        )
        api_request_finished.connect(
            lastused.on_api_request_finished, dispatch_uid="usage.lastused"
        )
        post_migrate.connect(
            _ensure_request_log_partitions, sender=self, dispatch_uid="usage.partitions"
        )
