"""Daily stale-key jobs (scheduled in settings.CELERY_BEAT_SCHEDULE); the work is in apikeys.stale."""

from celery import shared_task
from django.db import DatabaseError

from apikeys import expiry, stale
from audit.services import Actor

# Safe to retry: each key is handled in its own transaction and a flagged key is not flagged twice.
RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "max_retries": 5}


@shared_task(name="apikeys.tasks.flag_stale_keys", **RETRY)
def flag_stale_keys() -> dict:
    result = stale.apikeys_flag_stale(actor=Actor.system(label="apikeys.tasks.flag_stale_keys"))
    return {name: len(ids) for name, ids in result.items()}


@shared_task(name="apikeys.tasks.suspend_stale_keys", **RETRY)
def suspend_stale_keys() -> int:
    actor = Actor.system(label="apikeys.tasks.suspend_stale_keys")
    return len(stale.apikeys_suspend_stale(actor=actor))


@shared_task(name="apikeys.tasks.expire_keys", **RETRY)
def expire_keys() -> dict:
    result = expiry.apikeys_expire(actor=Actor.system(label="apikeys.tasks.expire_keys"))
    return {name: len(ids) for name, ids in result.items()}
