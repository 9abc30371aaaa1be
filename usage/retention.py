"""Retention: audit events and request-log rows older than AUDIT_RETENTION_DAYS are deleted.

One daily job and one command (``purge_audit_log``) for both, with one cutoff: the audit trail's
part is ``audit.retention`` (it keeps each account's chain verifiable). The request log on
PostgreSQL is partitioned by month: whole expired months are detached and dropped, only the month
straddling the cutoff is deleted in batches (``usage.partitions.drop_expired``). On SQLite (the
embedded default) its rows are deleted in short transactions of a few thousand rows.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from audit.retention import EVENT_BATCH, cutoff_for, expired_events, purge_events
from usage import partitions
from usage.models import RequestLog

REQUEST_BATCH = 5000

__all__ = [
    "EVENT_BATCH",
    "cutoff_for",
    "purge_events",
    "purge_request_log",
    "purge_requests",
    "retention_purge_expired",
]


@dataclass(frozen=True)
class PurgeResult:
    events: int
    requests: int
    # Request-log partitions whose lock was busy: left for a retry (usage.tasks.purge_expired).
    busy: tuple[str, ...] = ()


def expired_counts(cutoff) -> tuple[int, int]:
    return expired_events(cutoff), RequestLog.objects.filter(occurred_at__lt=cutoff).count()


def purge_request_log(*, cutoff, batch_size: int = REQUEST_BATCH, progress=None):
    """Request-log rows older than ``cutoff``: (rows removed, partitions left busy)."""
    if partitions.is_partitioned():
        dropped = partitions.drop_expired(cutoff, batch_size=batch_size, progress=progress)
        return dropped.rows, tuple(dropped.busy)
    return purge_requests(cutoff=cutoff, batch_size=batch_size, progress=progress), ()


def purge_requests(*, cutoff, batch_size: int = REQUEST_BATCH, progress=None) -> int:
    """Batched deletes (SQLite, or PostgreSQL before the table was partitioned)."""
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
    events = purge_events(cutoff=cutoff, progress=progress)
    requests, busy = purge_request_log(cutoff=cutoff, progress=progress)
    return PurgeResult(events=events, requests=requests, busy=busy)
