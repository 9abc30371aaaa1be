"""Retention: audit events and request-log rows older than AUDIT_RETENTION_DAYS are deleted.

One daily job and one command (``purge_audit_log``) for both, with one cutoff: the audit trail's
part is ``audit.retention`` (it keeps each account's chain verifiable). The request log on
PostgreSQL is partitioned by month: whole expired months are detached and dropped, only the month
straddling the cutoff is deleted in batches (``usage.partitions.drop_expired``). On SQLite (the
embedded default) its rows are deleted in short transactions of a few thousand rows.

The usage rollups (``usage.rollups``) go with them: daily rows at the same cutoff; hourly rows
and the hours' endpoints and client addresses once the longest chart window (90 days) no longer
reads them, or at the cutoff if that comes first (they hold client addresses, like the log).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from audit.retention import EVENT_BATCH, cutoff_for, expired_events, purge_events
from usage import partitions
from usage.models import DailyUsage, HourlyClient, HourlyEndpoint, HourlyUsage, RequestLog

REQUEST_BATCH = 5000
# The 90-day chart window reads hourly endpoints and clients; a day more covers its first bucket.
HOURLY_ROLLUPS_KEPT = timedelta(days=91)

__all__ = [
    "EVENT_BATCH",
    "cutoff_for",
    "purge_events",
    "purge_request_log",
    "purge_requests",
    "purge_rollups",
    "retention_purge_expired",
]


@dataclass(frozen=True)
class PurgeResult:
    events: int
    requests: int
    # Request-log partitions whose lock was busy: left for a retry (usage.tasks.purge_expired).
    busy: tuple[str, ...] = ()
    rollups: int = 0  # usage rollup rows (hourly, daily, endpoints, clients)


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
    return _delete_in_batches(
        RequestLog.objects.filter(occurred_at__lt=cutoff), batch_size=batch_size, progress=progress
    )


def purge_rollups(*, cutoff, now=None, batch_size: int = REQUEST_BATCH) -> int:
    """Usage rollups past retention (see the module's docstring); returns the rows deleted."""
    hourly_cutoff = max(cutoff, (now or timezone.now()) - HOURLY_ROLLUPS_KEPT)
    deleted = _delete_in_batches(DailyUsage.objects.filter(start__lt=cutoff), batch_size=batch_size)
    for model in (HourlyUsage, HourlyEndpoint, HourlyClient):
        deleted += _delete_in_batches(
            model.objects.filter(start__lt=hourly_cutoff), batch_size=batch_size
        )
    return deleted


def _delete_in_batches(queryset, *, batch_size: int, progress=None) -> int:
    """Delete ``queryset``'s rows a batch per short transaction (no long lock)."""
    total = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by().values_list("id", flat=True)[:batch_size])
            if ids:
                queryset.model.objects.filter(id__in=ids)._raw_delete(connection.alias)
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
    return PurgeResult(
        events=events, requests=requests, busy=busy, rollups=purge_rollups(cutoff=cutoff)
    )
