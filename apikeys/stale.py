"""Stale keys (SPEC.md "Stale keys"): the daily jobs that warn about idle keys, remind, and suspend.

Split from ``apikeys.services`` (the lifecycle workflows it builds on); each key is handled in its
own transaction with its audit event, on a locked row re-checked against the candidate query.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apikeys.models import ApiKey, Status
from apikeys.services import apikey_suspend, record_key_event
from audit.services import Actor
from statuspool.notifications.services import email_enqueue


def _idle_candidates(*, now, days: int):
    """Active keys, not rotated out nor expired, whose clock (creation, last use, keep active) is ≥ days old."""
    cutoff = now - timedelta(days=days)
    return (
        ApiKey.objects.filter(
            status=Status.ACTIVE, grace_ends_at__isnull=True, created_at__lte=cutoff
        )
        .exclude(expires_at__lte=now)  # an expired key has ended; nothing to suspend
        .exclude(last_used_at__gt=cutoff)
        .exclude(kept_active_at__gt=cutoff)
        .select_related("account")
        .order_by("id")
    )


def _still_idle(key: ApiKey, *, now, days: int) -> bool:
    """The candidate query's condition, re-checked on the locked row."""
    return (
        key.status == Status.ACTIVE
        and key.grace_ends_at is None
        and not (key.expires_at and key.expires_at <= now)
        and now - key.idle_since >= timedelta(days=days)
    )


def _notified_this_cycle(sent_at, key: ApiKey) -> bool:
    # A key used again after a warning starts a new idle cycle that deserves its own warning.
    return sent_at is not None and sent_at >= key.idle_since


def _owner_recipients(account) -> list[str]:
    owner = account.owner
    return [owner.email] if owner else [account.billing_email]


def _email_context(key: ApiKey, *, suspends_on) -> dict:
    path = reverse("apikeys:detail", args=[key.public_id])
    return {
        "account_name": key.account.name,
        "key_name": key.name,
        "key_display_id": key.display_id,
        # Moments, not dates: each recipient reads them in their own zone ({% when … "text" %}).
        "idle_since": key.idle_since.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "suspends_on": suspends_on.isoformat(),
        "stale_days": settings.APIKEY_STALE_DAYS,
        "suspend_days": settings.APIKEY_SUSPEND_DAYS,
        # The date follows the 90-day rule unless a late notice moved it: say which, so the
        # reason in brackets never contradicts the date beside it.
        "moved_by_notice": suspends_on > key.suspends_at,
        "notice_days": settings.APIKEY_SUSPEND_REMINDER_DAYS,
        "key_url": settings.SITE_URL + path,
    }


def _send(key: ApiKey, *, template: str, subject: str, suspends_on, cycle) -> None:
    email_enqueue(
        to=_owner_recipients(key.account),
        subject=subject,
        template=template,
        context=_email_context(key, suspends_on=suspends_on),
        dedup_key=f"{template}:{key.pk}:{cycle.isoformat()}",
    )


def apikeys_flag_stale(
    *, now=None, dry_run: bool = False, actor: Actor | None = None, progress=None
) -> dict[str, list]:
    """Flag keys idle ≥ APIKEY_STALE_DAYS once per idle cycle and email the owner the suspension
    date; send the reminder APIKEY_SUSPEND_REMINDER_DAYS before suspension once.

    Returns the public ids {"flagged": [...], "reminded": [...]}; ``dry_run`` changes nothing.
    """
    now = now or timezone.now()
    actor = actor or Actor.system(label="apikeys.tasks.flag_stale_keys")
    result = {"flagged": [], "reminded": []}
    candidates = list(_idle_candidates(now=now, days=settings.APIKEY_STALE_DAYS))
    for candidate in progress(candidates) if progress else candidates:
        with transaction.atomic():
            key = ApiKey.objects.select_for_update().select_related("account").get(pk=candidate.pk)
            if not _still_idle(key, now=now, days=settings.APIKEY_STALE_DAYS):
                continue  # used or kept active since the list was read
            if not key.warned_this_idle_cycle:
                result["flagged"].append(key.public_id)
                if not dry_run:
                    _flag(key, now=now, actor=actor)
                continue
            reminder_due = key.suspends_on - timedelta(days=settings.APIKEY_SUSPEND_REMINDER_DAYS)
            if now >= reminder_due and not _notified_this_cycle(
                key.suspension_reminder_sent_at, key
            ):
                result["reminded"].append(key.public_id)
                if not dry_run:
                    _remind(key, now=now)
    return result


def _flag(key: ApiKey, *, now, actor: Actor) -> None:
    key.stale_notified_at = now
    suspends_on = key.suspends_on
    if now >= suspends_on - timedelta(days=settings.APIKEY_SUSPEND_REMINDER_DAYS):
        # Flagged late (the job was not running): this email already is the last-week notice.
        key.suspension_reminder_sent_at = now
    key.save(update_fields=["stale_notified_at", "suspension_reminder_sent_at"])
    details = {"idle_since": key.idle_since.isoformat(), "suspends_at": suspends_on.isoformat()}
    record_key_event("apikey.flagged_stale", actor, key, details)
    _send(
        key,
        template="apikey_stale",
        subject=f"API key “{key.name}” has not been used for {(now - key.idle_since).days} days",
        suspends_on=suspends_on,
        cycle=key.idle_since,
    )


def _remind(key: ApiKey, *, now) -> None:
    key.suspension_reminder_sent_at = now
    key.save(update_fields=["suspension_reminder_sent_at"])
    suspends_on = key.suspends_on
    _send(
        key,
        template="apikey_suspension_reminder",
        subject=f"API key “{key.name}” will be suspended on {suspends_on.date().isoformat()} (UTC)",
        suspends_on=suspends_on,
        cycle=key.idle_since,
    )


def apikeys_suspend_stale(
    *, now=None, dry_run: bool = False, actor: Actor | None = None, progress=None
) -> list[str]:
    """Suspend keys idle ≥ APIKEY_SUSPEND_DAYS whose owner was warned this idle cycle at least
    APIKEY_SUSPEND_REMINDER_DAYS ago (the documentation promises an email before any suspension).
    """
    now = now or timezone.now()
    actor = actor or Actor.system(label="apikeys.tasks.suspend_stale_keys")
    suspended = []
    candidates = list(_idle_candidates(now=now, days=settings.APIKEY_SUSPEND_DAYS))
    for candidate in progress(candidates) if progress else candidates:
        with transaction.atomic():
            key = ApiKey.objects.select_for_update().select_related("account").get(pk=candidate.pk)
            if not _still_idle(key, now=now, days=settings.APIKEY_SUSPEND_DAYS):
                continue
            if not key.warned_this_idle_cycle or now < key.suspends_on:
                continue
            suspended.append(key.public_id)
            if dry_run:
                continue
            idle_days = (now - key.idle_since).days
            apikey_suspend(
                key=key,
                actor=actor,
                reason=f"Not used for {idle_days} days",
            )
            _send(
                key,
                template="apikey_suspended",
                subject=f"API key “{key.name}” was suspended after {idle_days} idle days",
                suspends_on=now,
                cycle=key.idle_since,
            )
    return suspended
