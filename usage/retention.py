"""Retention: audit events and request-log rows older than AUDIT_RETENTION_DAYS are deleted.

One daily job and one command (``purge_audit_log``) for both, with one cutoff: the audit trail's
part is ``audit.retention`` (it keeps each account's chain verifiable); the request log's rows are
deleted here in short transactions of a few thousand rows (no long table lock).
"""

from dataclasses import dataclass

from django.db import connection, transaction

from audit.retention import EVENT_BATCH, cutoff_for, expired_events, purge_events
from usage.models import RequestLog

REQUEST_BATCH = 5000

__all__ = ["EVENT_BATCH", "cutoff_for", "purge_events", "purge_requests", "retention_purge_expired"]


@dataclass(frozen=True)
class PurgeResult:
    events: int
    requests: int


def expired_counts(cutoff) -> tuple[int, int]:
    return expired_events(cutoff), RequestLog.objects.filter(occurred_at__lt=cutoff).count()


def purge_requests(*, cutoff, batch_size: int = REQUEST_BATCH, progress=None) -> int:
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                RequestLog.objects.filter(occurred_at__lt=cutoff)
                .order_by()
                .values_list("id", flat=True)[:batch_size]
            )
            if ids:
                RequestLog.objects.filter(id__in=ids)._raw_delete(connection.alias)
        total += len(ids)
        if progress is not None:
            progress.update(len(ids))
        if len(ids) < batch_size:
            return total


def retention_purge_expired(*, days: int | None = None, progress=None) -> PurgeResult:
    """The retention job: both the audit trail and the request log, same cutoff."""
    cutoff = cutoff_for(days)
    return PurgeResult(
        events=purge_events(cutoff=cutoff, progress=progress),
        requests=purge_requests(cutoff=cutoff, progress=progress),
    )
