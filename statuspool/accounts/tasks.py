"""Periodic jobs of accounts (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from statuspool.accounts import lockout


@shared_task(name="accounts.prune_failure_counters", ignore_result=True)
def prune_failure_counters() -> int:
    return lockout.prune()
