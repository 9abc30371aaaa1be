"""Periodic jobs of what /v2 requests leave behind (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from usage import flush, partitions, requestlog, retention

logger = logging.getLogger("statuspool.usage.tasks")

# A request-log partition whose lock was busy is tried again this much later (then the next day).
BUSY_RETRY_SECONDS = 15 * 60


@shared_task(name="usage.tasks.flush_usage", ignore_result=True)
def flush_usage() -> dict:
    """Write buffered last-used data of keys and OAuth grants; queue the Usage Alerts."""
    return flush.usage_flush()


@shared_task(name="usage.tasks.flush_request_log", ignore_result=True)
def flush_request_log() -> int:
    return requestlog.flush()


@shared_task(name="usage.tasks.purge_expired", bind=True, ignore_result=True, max_retries=3)
def purge_expired(self) -> dict:
    result = retention.retention_purge_expired()
    logger.info(
        "retention: deleted %s audit events, %s request-log rows and %s usage rollup rows",
        result.events,
        result.requests,
        result.rollups,
    )
    if result.busy:
        # Another transaction held the request log's lock longer than the purge may wait.
        logger.warning("retention: request-log partitions busy, retrying: %s", result.busy)
        raise self.retry(countdown=BUSY_RETRY_SECONDS)
    return {"events": result.events, "requests": result.requests}


@shared_task(name="usage.tasks.ensure_request_log_partitions", ignore_result=True)
def ensure_request_log_partitions() -> list[str]:
    """This month's and the next months' request-log partitions (PostgreSQL); a failure (database
    down) is simply tried again by the next daily run: MONTHS_AHEAD months of slack."""
    return partitions.ensure_partitions()


@worker_ready.connect(dispatch_uid="usage.ensure_request_log_partitions")
def _ensure_partitions_on_worker_start(sender=None, **kwargs):
    # A fresh deployment whose beat has not ticked yet (daily schedules first run after a day).
    ensure_request_log_partitions.delay()
