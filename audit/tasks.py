"""Periodic jobs of the audit trail (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task

from audit import requestlog, retention

logger = logging.getLogger("statuspool.audit.tasks")


@shared_task(name="audit.tasks.flush_request_log", ignore_result=True)
def flush_request_log() -> int:
    return requestlog.flush()


@shared_task(name="audit.tasks.purge_expired", ignore_result=True)
def purge_expired() -> dict:
    result = retention.audit_purge_expired()
    logger.info(
        "retention: deleted %s audit events and %s request-log rows",
        result.events,
        result.requests,
    )
    return {"events": result.events, "requests": result.requests}
