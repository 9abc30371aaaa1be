"""API key expiry dates: the choices at creation, the reminders before, the record after.

A key is refused from its expiry instant on (authentication compares the time itself); the
``expire_keys`` job only records what happened: one ``apikey.expired`` audit event and one
notification per key, and the reminder emails 7 days and 1 day before.
"""

import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apikeys.models import ApiKey, Status
from audit.services import Actor
from statuspool.notifications.services import email_enqueue

# What the create form offers (days); "date" lets the admin pick a day instead.
PRESET_DAYS = (7, 30, 60, 90, 365)
REMINDER_DAYS = (7, 1)  # each reminder once, the later (smaller) one last
MAX_DAYS = 366 * 3
_DURATION = re.compile(r"^(\d+)([dhw])$")


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h`` or ``2w`` (the command's --expires-in); ValidationError otherwise."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValidationError("Give the lifetime as a number and a unit: 30d, 12h or 2w.")
    number, unit = int(match.group(1)), match.group(2)
    delta = {"d": timedelta(days=number), "h": timedelta(hours=number)}.get(
        unit, timedelta(weeks=number)
    )
    if delta > timedelta(days=MAX_DAYS):
        raise ValidationError(f"A key may live at most {MAX_DAYS} days.")
    return delta


def validate_expiry(expires_at: datetime | None, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if expires_at is None:
        return
    if expires_at <= now + timedelta(hours=1):
        raise ValidationError({"expires": "Choose an expiry date in the future."})
    if expires_at > now + timedelta(days=MAX_DAYS):
        raise ValidationError({"expires": f"A key may live at most {MAX_DAYS} days."})


def _recipients(key: ApiKey) -> list[str]:
    addresses = []
    for person in (key.account.owner, key.created_by):
        if person is not None and person.is_active and person.email not in addresses:
            addresses.append(person.email)
    return addresses or [key.account.billing_email]


def _remind(key: ApiKey, days: int) -> None:
    # apikeys.services imports this module for validate_expiry; import back at call time.
    from apikeys.services import key_url

    left = "1 day" if days == 1 else f"{days} days"
    email_enqueue(
        to=_recipients(key),
        subject=f"[StatusPool] API key “{key.name}” expires in {left}",
        template="apikey_expiry_reminder",
        context={
            "key_name": key.name,
            "key_display_id": key.display_id,
            "account_name": key.account.name,
            "expires_at": f"{key.expires_at:%Y-%m-%d %H:%M} UTC",
            "left": left,
            "key_url": key_url(key),
        },
        dedup_key=f"apikey-expiry:{key.pk}:{days}:{key.expires_at.isoformat()}",
    )
    key.expiry_reminded_days = days
    key.save(update_fields=["expiry_reminded_days"])


def _reminder_due(key: ApiKey, now: datetime) -> int | None:
    """The reminder to send now, if any: the smallest threshold crossed and not sent yet, and
    only if the key was created before that threshold (a 7-day key gets no 7-day reminder)."""
    due = None
    for days in REMINDER_DAYS:
        threshold = key.expires_at - timedelta(days=days)
        if now >= threshold and key.created_at < threshold:
            if key.expiry_reminded_days is None or key.expiry_reminded_days > days:
                due = days
    return due


def apikeys_expire(*, now=None, dry_run: bool = False, actor: Actor | None = None) -> dict:
    """Send due reminders and record expired keys; returns public ids by outcome."""
    from apikeys.services import apikey_record_expired

    now = now or timezone.now()
    actor = actor or Actor.system(label="apikeys.tasks.expire_keys")
    result = {"reminded": [], "expired": []}
    horizon = now + timedelta(days=max(REMINDER_DAYS))
    candidates = (
        ApiKey.objects.exclude(status=Status.REVOKED)
        .filter(expires_at__isnull=False, expiry_recorded_at__isnull=True)
        .filter(Q(expires_at__lte=horizon))
        .order_by("expires_at", "id")
    )
    for candidate_id in list(candidates.values_list("id", flat=True)):
        with transaction.atomic():
            key = ApiKey.objects.select_for_update().select_related("account").get(pk=candidate_id)
            if key.status == Status.REVOKED or key.expiry_recorded_at is not None:
                continue
            if key.expires_at <= now:
                result["expired"].append(key.public_id)
                if not dry_run:
                    apikey_record_expired(key=key, actor=actor, now=now)
                continue
            days = _reminder_due(key, now)
            if days is not None and key.status == Status.ACTIVE and key.grace_ends_at is None:
                result["reminded"].append(key.public_id)
                if not dry_run:
                    _remind(key, days)
    return result
