"""Periodic jobs of onboarding (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from statuspool.onboarding.signup import signup_prune


@shared_task(name="onboarding.prune_pending_signups", ignore_result=True)
def prune_pending_signups() -> int:
    return signup_prune()
