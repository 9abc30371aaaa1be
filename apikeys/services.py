"""API key workflows. Each one is a single transaction together with its audit event.

Every change that can make a key unusable or change what it may do invalidates the shared
authentication cache once the transaction has committed (``invalidate_after_commit``), so the
next request in any process sees the new state.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apikeys import authcache
from apikeys.models import DEFAULT_KEY_NAME, DEFAULT_KEY_SCOPES, ApiKey, Status
from audit.services import Actor, record
from statuspool import api_key_format
from statuspool.accounts.models import Account
from statuspool.notifications.services import email_enqueue
from statuspool.scopes import SCOPES, order_scopes

# How long a rotated-out key keeps working ("now" revokes it in the same transaction).
EXPIRY_CHOICES = {
    "now": None,
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


def _validate_scopes(scopes: list[str]) -> None:
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope."})
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope: {', '.join(unknown)}."})


def apikey_validate_new(*, account, name: str, scopes: list[str]) -> None:
    """The rules of a new key (name, scopes, per-account limit); raises ValidationError."""
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise ValidationError({"name": "Give the key a name of 1 to 64 characters."})
    _validate_scopes(scopes)
    live = ApiKey.objects.for_account(account).not_revoked()
    if live.filter(name=name).exists():
        raise ValidationError(
            {"name": f"A key named “{name}” already exists. Choose another name."}
        )
    if live.counting_toward_limit().count() >= settings.APIKEY_MAX_PER_ACCOUNT:
        raise ValidationError(limit_reached_message())


def limit_reached_message() -> str:
    return (
        f"This account already has {settings.APIKEY_MAX_PER_ACCOUNT} keys, the most it can have "
        "(the default key plus three more). Revoke a key you no longer use, then try again."
    )


def apikey_limit_reached(*, account) -> bool:
    keys = ApiKey.objects.for_account(account).counting_toward_limit()
    return keys.count() >= settings.APIKEY_MAX_PER_ACCOUNT


def _audit(action: str, actor: Actor, key: ApiKey, details: dict) -> None:
    record(
        action=action,
        actor=actor,
        account=key.account_id,
        target=key,  # labelled "name (sp_live_4f8a2c91…)" by str(key)
        details={"public_id": key.public_id, **details},
    )


def invalidate_after_commit(key: ApiKey) -> None:
    """Drop the key's cached authentication in every process once the change has committed."""
    public_id = key.public_id
    transaction.on_commit(lambda: authcache.invalidate_key(public_id))


def lock_key(key: ApiKey) -> ApiKey:
    """Re-read the key under a row lock so two admins cannot change it at the same moment."""
    return ApiKey.objects.select_for_update().get(pk=key.pk)


def _refresh(target: ApiKey, source: ApiKey) -> ApiKey:
    """Copy the locked, updated row back into the caller's instance."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def apikey_create(
    *, account, name: str, scopes: list[str], actor: Actor, created_by=None
) -> tuple[ApiKey, str]:
    """Create a key; returns (key, plaintext). The plaintext exists only in the return value."""
    scopes = order_scopes(scopes)
    with transaction.atomic():
        # Serialise key creation per account: two admins creating the 4th key at the same moment
        # must not both pass the limit (or the unique-name) check.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        apikey_validate_new(account=account, name=name, scopes=scopes)
        raw = api_key_format.generate()
        key = ApiKey(account=account, name=name.strip(), scopes=scopes, created_by=created_by)
        key.set_secret(raw)
        key.save()
        _audit("apikey.created", actor, key, {"name": key.name, "scopes": scopes})
    return key, raw


def apikey_create_default(*, account, actor: Actor, created_by=None) -> tuple[ApiKey, str]:
    """Every account starts with one key: "Default key" with monitors:read and alerts:read."""
    return apikey_create(
        account=account,
        name=DEFAULT_KEY_NAME,
        scopes=list(DEFAULT_KEY_SCOPES),
        actor=actor,
        created_by=created_by,
    )


def apikey_rotate(
    *, key: ApiKey, actor: Actor, expire_old_in: str, created_by=None
) -> tuple[ApiKey, str]:
    """Replace a key with a new secret; the old one is revoked now or expires after a grace period.

    No limit check: with "now" the replacement takes the old key's place, otherwise it does not
    count while its predecessor winds down (``ApiKeyQuerySet.counting_toward_limit``).
    """
    if expire_old_in not in EXPIRY_CHOICES:
        raise ValidationError({"expire_old_in": "Choose when the old key stops working."})
    with transaction.atomic():
        old = lock_key(key)
        if not old.is_active:
            raise ValidationError("Only an active key can be rotated.")
        if old.expires_at is not None or ApiKey.objects.filter(rotated_from=old).exists():
            raise ValidationError("This key has already been rotated; rotate its replacement.")
        now = timezone.now()
        raw = api_key_format.generate()
        new = ApiKey(
            account=old.account,
            name=old.name,
            scopes=list(old.scopes),
            allowed_networks=list(old.allowed_networks),
            usage_alerts_enabled=old.usage_alerts_enabled,
            created_by=created_by,
            created_at=now,
            rotated_from=old,
        )
        new.set_secret(raw)
        new.save()
        grace = EXPIRY_CHOICES[expire_old_in]
        if grace is None:
            old.status, old.revoked_at, old.revoked_by = Status.REVOKED, now, created_by
            old.revoked_reason = f"Rotated; replaced by {new.display_id}"
            old.save(update_fields=["status", "revoked_at", "revoked_by", "revoked_reason"])
        else:
            old.expires_at = now + grace
            old.save(update_fields=["expires_at"])
        _audit(
            "apikey.rotated",
            actor,
            new,
            {
                "name": new.name,
                "old_public_id": old.public_id,
                "new_public_id": new.public_id,
                "expire_old_in": expire_old_in,
                "old_expires_at": old.expires_at.isoformat() if old.expires_at else None,
                "old_revoked_at": old.revoked_at.isoformat() if old.revoked_at else None,
            },
        )
        invalidate_after_commit(old)
        _refresh(key, old)
    return new, raw


def apikey_revoke(*, key: ApiKey, actor: Actor, reason: str = "", revoked_by=None) -> ApiKey:
    """Immediate and final."""
    reason = (reason or "").strip()[:200]
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status == Status.REVOKED:
            raise ValidationError("This key is already revoked.")
        locked.status, locked.revoked_at = Status.REVOKED, timezone.now()
        locked.revoked_by, locked.revoked_reason = revoked_by, reason
        locked.save(update_fields=["status", "revoked_at", "revoked_by", "revoked_reason"])
        _audit("apikey.revoked", actor, locked, {"reason": reason})
        invalidate_after_commit(locked)
    return _refresh(key, locked)


def apikey_suspend(*, key: ApiKey, actor: Actor, reason: str) -> ApiKey:
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status != Status.ACTIVE:
            raise ValidationError("Only an active key can be suspended.")
        locked.status, locked.suspended_at = Status.SUSPENDED, timezone.now()
        locked.save(update_fields=["status", "suspended_at"])
        _audit("apikey.suspended", actor, locked, {"reason": reason})
        invalidate_after_commit(locked)
    return _refresh(key, locked)


def apikey_reactivate(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Lift a suspension. The stale clock restarts, or the next daily run would suspend it again."""
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status != Status.SUSPENDED:
            raise ValidationError("Only a suspended key can be reactivated.")
        locked.status, locked.suspended_at = Status.ACTIVE, None
        locked.kept_active_at = timezone.now()
        locked.stale_notified_at = locked.suspension_reminder_sent_at = None
        locked.save(
            update_fields=[
                "status",
                "suspended_at",
                "kept_active_at",
                "stale_notified_at",
                "suspension_reminder_sent_at",
            ]
        )
        _audit("apikey.reactivated", actor, locked, {})
        invalidate_after_commit(locked)
    return _refresh(key, locked)


def apikey_keep_active(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Reset the stale clock without pretending the key was used."""
    with transaction.atomic():
        locked = lock_key(key)
        if not locked.is_active:
            raise ValidationError("Only an active key can be kept active.")
        locked.kept_active_at = timezone.now()
        locked.stale_notified_at = locked.suspension_reminder_sent_at = None
        locked.save(
            update_fields=["kept_active_at", "stale_notified_at", "suspension_reminder_sent_at"]
        )
        _audit("apikey.kept_active", actor, locked, {"suspends_at": locked.suspends_at.isoformat()})
    return _refresh(key, locked)


def apikey_update_scopes(
    *, key: ApiKey, scopes: list[str], actor: Actor, may_add: bool = True
) -> ApiKey:
    """``may_add=False``: the caller confirmed only a narrowing (no sudo), so a scope that another
    admin removed meanwhile is not silently granted back."""
    scopes = order_scopes(scopes)
    _validate_scopes(scopes)
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status == Status.REVOKED:
            raise ValidationError("A revoked key cannot be changed.")
        before = list(locked.scopes)
        if not may_add and set(scopes) - set(before):
            raise ValidationError(
                "This key's scopes changed meanwhile. Review them and save again."
            )
        if before == scopes:
            return _refresh(key, locked)
        locked.scopes = scopes
        locked.save(update_fields=["scopes"])
        _audit("apikey.scopes_changed", actor, locked, {"before": before, "after": scopes})
        invalidate_after_commit(locked)
    return _refresh(key, locked)


# --- Stale keys (SPEC.md "Stale keys") ----------------------------------------------------------
def _idle_candidates(*, now, days: int):
    """Active, non-expiring keys whose clock (creation, last use, keep active) is ≥ days old."""
    cutoff = now - timedelta(days=days)
    return (
        ApiKey.objects.filter(status=Status.ACTIVE, expires_at__isnull=True, created_at__lte=cutoff)
        .exclude(last_used_at__gt=cutoff)
        .exclude(kept_active_at__gt=cutoff)
        .select_related("account")
        .order_by("id")
    )


def _still_idle(key: ApiKey, *, now, days: int) -> bool:
    """The candidate query's condition, re-checked on the locked row."""
    return (
        key.status == Status.ACTIVE
        and key.expires_at is None
        and now - key.idle_since >= timedelta(days=days)
    )


def _notified_this_cycle(sent_at, key: ApiKey) -> bool:
    # A key used again after a warning starts a new idle cycle that deserves its own warning.
    return sent_at is not None and sent_at >= key.idle_since


def suspension_date(key: ApiKey):
    """When the key will be suspended: 90 idle days, but never less than the reminder's notice."""
    due = key.suspends_at
    if key.stale_notified_at and _notified_this_cycle(key.stale_notified_at, key):
        notice = key.stale_notified_at + timedelta(days=settings.APIKEY_SUSPEND_REMINDER_DAYS)
        due = max(due, notice)
    return due


def _owner_recipients(account) -> list[str]:
    owner = account.owner
    return [owner.email] if owner else [account.billing_email]


def _email_context(key: ApiKey, *, suspends_on) -> dict:
    path = reverse("apikeys:detail", args=[key.public_id])
    return {
        "account_name": key.account.name,
        "key_name": key.name,
        "key_display_id": key.display_id,
        "idle_since": key.idle_since.date().isoformat(),
        "last_used_at": key.last_used_at.date().isoformat() if key.last_used_at else None,
        "suspends_on": suspends_on.date().isoformat(),
        "stale_days": settings.APIKEY_STALE_DAYS,
        "suspend_days": settings.APIKEY_SUSPEND_DAYS,
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
            if not _notified_this_cycle(key.stale_notified_at, key):
                result["flagged"].append(key.public_id)
                if not dry_run:
                    _flag(key, now=now, actor=actor)
                continue
            reminder_due = suspension_date(key) - timedelta(
                days=settings.APIKEY_SUSPEND_REMINDER_DAYS
            )
            if now >= reminder_due and not _notified_this_cycle(
                key.suspension_reminder_sent_at, key
            ):
                result["reminded"].append(key.public_id)
                if not dry_run:
                    _remind(key, now=now)
    return result


def _flag(key: ApiKey, *, now, actor: Actor) -> None:
    key.stale_notified_at = now
    suspends_on = suspension_date(key)
    if now >= suspends_on - timedelta(days=settings.APIKEY_SUSPEND_REMINDER_DAYS):
        # Flagged late (the job was not running): this email already is the last-week notice.
        key.suspension_reminder_sent_at = now
    key.save(update_fields=["stale_notified_at", "suspension_reminder_sent_at"])
    details = {"idle_since": key.idle_since.isoformat(), "suspends_at": suspends_on.isoformat()}
    _audit("apikey.flagged_stale", actor, key, details)
    _send(
        key,
        template="apikey_stale",
        subject=f"API key “{key.name}” has not been used for {settings.APIKEY_STALE_DAYS} days",
        suspends_on=suspends_on,
        cycle=key.idle_since,
    )


def _remind(key: ApiKey, *, now) -> None:
    key.suspension_reminder_sent_at = now
    key.save(update_fields=["suspension_reminder_sent_at"])
    suspends_on = suspension_date(key)
    _send(
        key,
        template="apikey_suspension_reminder",
        subject=f"API key “{key.name}” will be suspended on {suspends_on.date().isoformat()}",
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
            if not _notified_this_cycle(key.stale_notified_at, key) or now < suspension_date(key):
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
