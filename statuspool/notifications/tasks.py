"""Thin Celery tasks over the outbox services (ids in; the row holds everything else)."""

from celery import shared_task

from statuspool.notifications import services


@shared_task(ignore_result=True)
def send_outbox_email(email_id: int) -> str:
    return services.outbox_send(email_id=email_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    """Beat, every minute: retries that are due and rows whose first task never ran."""
    return services.outbox_sweep()
