"""API key workflows. Each one is a single transaction together with its audit event.

Every change that can make a key unusable or change what it may do invalidates the shared
authentication cache once the transaction has committed (``invalidate_after_commit``), so the
next request in any process sees the new state.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apikeys import authcache
from apikeys.models import DEFAULT_KEY_NAME, DEFAULT_KEY_SCOPES, ApiKey, Status
from audit.services import Actor, record
from statuspool import api_key_format
from statuspool.accounts.models import Account
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


def record_key_event(action: str, actor: Actor, key: ApiKey, details: dict) -> None:
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
        record_key_event("apikey.created", actor, key, {"name": key.name, "scopes": scopes})
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
        if not old.can_rotate:
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
        record_key_event(
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
        record_key_event("apikey.revoked", actor, locked, {"reason": reason})
        invalidate_after_commit(locked)
    return _refresh(key, locked)


def apikey_suspend(*, key: ApiKey, actor: Actor, reason: str) -> ApiKey:
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status != Status.ACTIVE:
            raise ValidationError("Only an active key can be suspended.")
        locked.status, locked.suspended_at = Status.SUSPENDED, timezone.now()
        locked.save(update_fields=["status", "suspended_at"])
        record_key_event("apikey.suspended", actor, locked, {"reason": reason})
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
        record_key_event("apikey.reactivated", actor, locked, {})
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
        record_key_event(
            "apikey.kept_active", actor, locked, {"suspends_at": locked.suspends_at.isoformat()}
        )
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
        record_key_event(
            "apikey.scopes_changed", actor, locked, {"before": before, "after": scopes}
        )
        invalidate_after_commit(locked)
    return _refresh(key, locked)
