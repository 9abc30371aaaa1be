"""Periodic jobs of what /v2 requests leave behind (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task

from usage import flush, requestlog, retention

logger = logging.getLogger("statuspool.usage.tasks")


@shared_task(name="usage.tasks.flush_usage", ignore_result=True)
def flush_usage() -> dict:
    """Write buffered last-used data of keys and OAuth grants; queue the Usage Alerts."""
    return flush.usage_flush()


@shared_task(name="usage.tasks.flush_request_log", ignore_result=True)
def flush_request_log() -> int:
    return requestlog.flush()


@shared_task(name="usage.tasks.purge_expired", ignore_result=True)
def purge_expired() -> dict:
    result = retention.retention_purge_expired()
    logger.info(
        "retention: deleted %s audit events and %s request-log rows",
        result.events,
        result.requests,
    )
    return {"events": result.events, "requests": result.requests}
