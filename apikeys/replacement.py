"""Rotation and replacement: a new key takes an old one's place (issue 14 "Replace").

A rotation keeps the name; a replacement may rename. Both copy scopes, allowlist, alert setting and
expiry policy, and revoke the old key now or after a grace period (``grace_ends_at``), in one
transaction with the audit event and the admins' notification.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apikeys import policy
from apikeys.models import ApiKey, Status
from apikeys.services import (
    copy_back,
    invalidate_after_commit,
    lock_key,
    notify_key_event,
    record_key_event,
    validate_name,
)
from audit.services import Actor
from statuspool import api_key_format

# How long a rotated-out key keeps working ("now" revokes it in the same transaction).
EXPIRY_CHOICES = {
    "now": None,
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


def predecessor_in_grace(key: ApiKey) -> ApiKey | None:
    """The key this one replaced, if it still works (its grace period has not ended)."""
    previous = key.rotated_from
    if previous is not None and previous.grace_ends_at and previous.is_active:
        return previous
    return None


def apikey_rotate(
    *, key: ApiKey, actor: Actor, expire_old_in: str, created_by=None
) -> tuple[ApiKey, str]:
    """Replace a key with a new secret under the same name (see ``apikey_replace``)."""
    return apikey_replace(
        key=key, actor=actor, expire_old_in=expire_old_in, created_by=created_by, action="rotated"
    )


def apikey_replace(
    *,
    key: ApiKey,
    actor: Actor,
    expire_old_in: str,
    created_by=None,
    name: str | None = None,
    action: str = "replaced",
) -> tuple[ApiKey, str]:
    """A new key with the old one's scopes, allowlist, alert setting and expiry policy (the same
    lifetime from now, within the account's policy); the old key is revoked now or keeps working
    for a grace period. Returns (new key, plaintext).

    No limit check: with "now" the replacement takes the old key's place, otherwise it does not
    count while its predecessor winds down (``ApiKeyQuerySet.counting_toward_limit``), so this
    works when the account is at its limit.
    """
    if expire_old_in not in EXPIRY_CHOICES:
        raise ValidationError({"expire_old_in": "Choose when the old key stops working."})
    with transaction.atomic():
        old = lock_key(key)
        if not old.is_active:
            raise ValidationError("Only an active key can be replaced.")
        if old.grace_ends_at is not None or ApiKey.objects.filter(rotated_from=old).exists():
            raise ValidationError(
                "This key has already been rotated or replaced; use its successor."
            )
        now = timezone.now()
        new_name = (
            old.name if name is None else validate_name(account=old.account, name=name, exclude=old)
        )
        rules = policy.policy_of(old.account)
        if rules is not None and rules.require_allowlist and not old.allowed_networks:
            raise ValidationError(
                "This account's policy requires an IP allowlist on new keys: give this key an "
                "allowlist first, then replace it."
            )
        lifetime = policy.allowed_expiry(rules, old.lifetime)
        raw = api_key_format.generate()
        new = ApiKey(
            account=old.account,
            name=new_name,
            description=old.description,
            scopes=list(old.scopes),
            allowed_networks=list(old.allowed_networks),
            usage_alerts_enabled=old.usage_alerts_enabled,
            created_by=created_by,
            created_at=now,
            expires_at=now + lifetime if lifetime else None,
            rotated_from=old,
        )
        new.set_secret(raw)
        new.save()
        grace = EXPIRY_CHOICES[expire_old_in]
        if grace is None:
            old.status, old.revoked_at, old.revoked_by = Status.REVOKED, now, created_by
            verb = "Rotated" if action == "rotated" else "Replaced"
            old.revoked_reason = f"{verb}; replaced by {new.display_id}"
            old.save(update_fields=["status", "revoked_at", "revoked_by", "revoked_reason"])
        else:
            old.grace_ends_at = now + grace
            old.save(update_fields=["grace_ends_at"])
        record_key_event(
            f"apikey.{action}",
            actor,
            new,
            {
                "name": new.name,
                "old_public_id": old.public_id,
                "new_public_id": new.public_id,
                "expire_old_in": expire_old_in,
                "old_grace_ends_at": old.grace_ends_at.isoformat() if old.grace_ends_at else None,
                "old_revoked_at": old.revoked_at.isoformat() if old.revoked_at else None,
                "expires_at": new.expires_at.isoformat() if new.expires_at else None,
            },
        )
        notify_key_event(
            "apikey.rotated",
            actor,
            new,
            old_display_id=old.display_id,
            old_key_fate=(
                "The old key was revoked at once."
                if old.revoked_at
                else f"The old key keeps working until {old.grace_ends_at:%Y-%m-%d %H:%M} UTC."
            ),
        )
        invalidate_after_commit(old)
        copy_back(key, old)
    return new, raw
