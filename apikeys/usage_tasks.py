"""Celery task of the usage buffer (beat: every 30 seconds, see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task


@shared_task(name="apikeys.usage_tasks.flush_usage", ignore_result=True)
def flush_usage() -> dict:
    """Write buffered last-used data of keys and OAuth grants; queue the Usage Alerts."""
    from apikeys.usage_flush import usage_flush

    return usage_flush()
