"""API key workflows. Each one is a single transaction together with its audit event.

Every change that can make a key unusable or change what it may do invalidates the shared
authentication cache once the transaction has committed (``invalidate_after_commit``), so the
next request in any process sees the new state.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apikeys import authcache, policy
from apikeys.expiry import validate_expiry
from apikeys.models import DEFAULT_KEY_NAME, DEFAULT_KEY_SCOPES, ApiKey, Status
from audit.services import Actor, record
from statuspool import api_key_format
from statuspool.accounts.models import Account
from statuspool.notifications.security import security_notify
from statuspool.scopes import SCOPES, order_scopes

DESCRIPTION_MAX = 500
# Whole credentials look like this; a description must never hold one (it is shown and audited).
_CREDENTIAL_IN_TEXT = re.compile(r"sp_(?:live|oat|ort)_[0-9A-Za-z]{20,}")


def _validate_scopes(scopes: list[str]) -> None:
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope."})
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope: {', '.join(unknown)}."})


def validate_name(*, account, name: str, exclude=None) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise ValidationError({"name": "Give the key a name of 1 to 64 characters."})
    taken = ApiKey.objects.for_account(account).live().filter(name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ValidationError(
            {"name": f"A key named “{name}” already exists. Choose another name."}
        )
    return name


def _validate_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(
            {"description": f"Keep the description under {DESCRIPTION_MAX} characters."}
        )
    if _CREDENTIAL_IN_TEXT.search(description):
        raise ValidationError(
            {
                "description": "Never put a key or token in a description: it is shown to every "
                "admin and kept in the audit log. Revoke that credential if it was real."
            }
        )
    return description


def apikey_validate_new(
    *,
    account,
    name: str,
    scopes: list[str],
    expires_at=None,
    allowed_networks=None,
    check_policy: bool = True,
) -> None:
    """The rules of a new key (name, scopes, expiry, account policy, per-account limit);
    raises ValidationError."""
    validate_name(account=account, name=name)
    _validate_scopes(scopes)
    validate_expiry(expires_at)
    if check_policy:
        policy.check_new_key(
            account=account, expires_at=expires_at, allowed_networks=allowed_networks or []
        )
    if ApiKey.objects.for_account(account).counting_toward_limit().count() >= (
        settings.APIKEY_MAX_PER_ACCOUNT
    ):
        raise ValidationError(limit_reached_message())


def limit_reached_message() -> str:
    return (
        f"This account already has {settings.APIKEY_MAX_PER_ACCOUNT} keys, the most it can have "
        "(the default key plus three more). Revoke a key you no longer use, or open a key and "
        "choose “Replace”: a replacement takes the old key’s place, so it works at the limit."
    )


def apikey_limit_count(*, account) -> int:
    return ApiKey.objects.for_account(account).counting_toward_limit().count()


def apikey_limit_reached(*, account) -> bool:
    return apikey_limit_count(account=account) >= settings.APIKEY_MAX_PER_ACCOUNT


def record_key_event(action: str, actor: Actor, key: ApiKey, details: dict) -> None:
    record(
        action=action,
        actor=actor,
        account=key.account_id,
        target=key,  # labelled "name (sp_live_4f8a2c91…)" by str(key)
        details={"public_id": key.public_id, **details},
    )


def key_url(key: ApiKey) -> str:
    return settings.SITE_URL + reverse("apikeys:detail", args=[key.public_id])


def notify_key_event(kind: str, actor: Actor | None, key: ApiKey, **context) -> None:
    """Tell the account's admins (and the key's creator) in the change's own transaction."""
    security_notify(
        account=key.account,
        kind=kind,
        actor=actor,
        subject_user=key.created_by,
        context={
            "key_name": key.name,
            "key_display_id": key.display_id,
            "scopes": ", ".join(key.scopes),
            "key_url": key_url(key),
            **context,
        },
    )


def invalidate_after_commit(key: ApiKey) -> None:
    """Drop the key's cached authentication in every process once the change has committed
    (durably: written in this transaction, applied to Redis after it, see ``authcache``)."""
    authcache.invalidate_key(key.public_id)


def lock_key(key: ApiKey) -> ApiKey:
    """Re-read the key under a row lock so two admins cannot change it at the same moment."""
    return ApiKey.objects.select_for_update().get(pk=key.pk)


def copy_back(target: ApiKey, source: ApiKey) -> ApiKey:
    """Copy the locked, updated row back into the caller's instance."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def apikey_create(
    *,
    account,
    name: str,
    scopes: list[str],
    actor: Actor,
    created_by=None,
    notify: bool = True,
    expires_at=None,
    allowed_networks=None,
    description: str = "",
) -> tuple[ApiKey, str]:
    """Create a key; returns (key, plaintext). The plaintext exists only in the return value.

    ``notify=False`` only for the default key of a brand-new account: its one admin is the person
    creating the account, and a security email about it would be noise."""
    scopes = order_scopes(scopes)
    with transaction.atomic():
        # Serialise key creation per account: two admins creating the 4th key at the same moment
        # must not both pass the limit (or the unique-name) check.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        networks = _clean_networks(account, allowed_networks)
        apikey_validate_new(
            account=account,
            name=name,
            scopes=scopes,
            expires_at=expires_at,
            allowed_networks=networks,
        )
        raw = api_key_format.generate()
        key = ApiKey(
            account=account,
            name=name.strip(),
            scopes=scopes,
            created_by=created_by,
            expires_at=expires_at,
            allowed_networks=networks,
            description=_validate_description(description),
        )
        key.set_secret(raw)
        key.save()
        details = {"name": key.name, "scopes": scopes}
        if expires_at:
            details["expires_at"] = expires_at.isoformat()
        if networks:
            details["allowed_networks"] = networks
        record_key_event("apikey.created", actor, key, details)
        if notify:
            notify_key_event("apikey.created", actor, key)
    return key, raw


def _clean_networks(account, networks) -> list[str]:
    if not networks:
        return []
    # restriction_services builds on this module; import it when a key comes with an allowlist.
    from apikeys.restriction_services import validate_networks

    try:
        return validate_networks(account=account, networks=list(networks))
    except ValidationError as error:
        raise ValidationError({"allowed_networks": error.messages})


def apikey_create_default(*, account, actor: Actor, created_by=None) -> tuple[ApiKey, str]:
    """Every account starts with one key: "Default key" with monitors:read and alerts:read."""
    return apikey_create(
        account=account,
        name=DEFAULT_KEY_NAME,
        scopes=list(DEFAULT_KEY_SCOPES),
        actor=actor,
        created_by=created_by,
        notify=False,
    )


def apikey_revoke(
    *,
    key: ApiKey,
    actor: Actor,
    reason: str = "",
    revoked_by=None,
    end_predecessor_grace: bool = False,
) -> ApiKey:
    """Immediate and final. ``end_predecessor_grace``: the key this one replaced, still working in
    its grace period, is revoked with it (revoking a compromised replacement usually means the
    pair is compromised)."""
    reason = (reason or "").strip()[:200]
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status == Status.REVOKED:
            raise ValidationError("This key is already revoked.")
        if end_predecessor_grace and locked.rotated_from_id:
            previous = lock_key(locked.rotated_from)
            if previous.status != Status.REVOKED and previous.grace_ends_at and previous.is_active:
                _revoke_locked(
                    previous,
                    actor,
                    reason=f"Grace period ended with its replacement {locked.display_id}",
                    revoked_by=revoked_by,
                )
        _revoke_locked(locked, actor, reason=reason, revoked_by=revoked_by)
    return copy_back(key, locked)


def _revoke_locked(locked: ApiKey, actor: Actor, *, reason: str, revoked_by) -> None:
    locked.status, locked.revoked_at = Status.REVOKED, timezone.now()
    locked.revoked_by, locked.revoked_reason = revoked_by, reason
    locked.save(update_fields=["status", "revoked_at", "revoked_by", "revoked_reason"])
    record_key_event("apikey.revoked", actor, locked, {"reason": reason})
    notify_key_event(
        "apikey.revoked",
        actor,
        locked,
        reason_sentence=f"Reason given: “{reason}”." if reason else "No reason was given.",
    )
    invalidate_after_commit(locked)


def apikey_update_details(*, key: ApiKey, name: str, description: str, actor: Actor) -> ApiKey:
    """Rename and describe a key. Its secret, scopes and history stay as they are."""
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status == Status.REVOKED:
            raise ValidationError("A revoked key cannot be changed.")
        name = validate_name(account=locked.account, name=name, exclude=locked)
        description = _validate_description(description)
        changed = {}
        if name != locked.name:
            changed["name"] = {"before": locked.name, "after": name}
        if description != locked.description:
            changed["description"] = {"before": locked.description, "after": description}
        if not changed:
            return copy_back(key, locked)
        locked.name, locked.description = name, description
        locked.save(update_fields=["name", "description"])
        record_key_event("apikey.details_changed", actor, locked, {"changed": changed})
    return copy_back(key, locked)


def apikey_record_expired(*, key: ApiKey, actor: Actor, now=None) -> None:
    """Record, once, that a key reached its expiry date (authentication refused it already).
    ``key`` is locked by the caller."""
    key.expiry_recorded_at = now or timezone.now()
    key.save(update_fields=["expiry_recorded_at"])
    record_key_event("apikey.expired", actor, key, {"expires_at": key.expires_at.isoformat()})
    notify_key_event(
        "apikey.expired", actor, key, expires_at=f"{key.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    invalidate_after_commit(key)


def apikey_revoke_leaked(*, key: ApiKey, actor: Actor, url: str, source: str = "") -> bool:
    """A secret scanner found the key in public: revoke it now, audit where it was found, and
    tell the admins. Returns False if it was already revoked (a repeated report changes nothing).
    """
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status == Status.REVOKED:
            return False
        locked.status, locked.revoked_at = Status.REVOKED, timezone.now()
        locked.revoked_by, locked.revoked_reason = None, f"Leaked: found at {url}"[:200]
        locked.save(update_fields=["status", "revoked_at", "revoked_by", "revoked_reason"])
        details = {"url": url[:500], "source": source[:100], "reporter": actor.label}
        record_key_event("apikey.leaked_revoked", actor, locked, details)
        notify_key_event(
            "apikey.leaked_revoked",
            actor,
            locked,
            credential_description=f"The API key “{locked.name}” ({locked.display_id})",
            leak_url=url[:500],
            reporter=actor.label,
        )
        invalidate_after_commit(locked)
    copy_back(key, locked)
    return True


def apikey_suspend(*, key: ApiKey, actor: Actor, reason: str) -> ApiKey:
    with transaction.atomic():
        locked = lock_key(key)
        if locked.status != Status.ACTIVE:
            raise ValidationError("Only an active key can be suspended.")
        locked.status, locked.suspended_at = Status.SUSPENDED, timezone.now()
        locked.save(update_fields=["status", "suspended_at"])
        record_key_event("apikey.suspended", actor, locked, {"reason": reason})
        notify_key_event("apikey.suspended", actor, locked, reason=reason)
        invalidate_after_commit(locked)
    return copy_back(key, locked)


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
    return copy_back(key, locked)


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
    return copy_back(key, locked)


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
            return copy_back(key, locked)
        locked.scopes = scopes
        locked.save(update_fields=["scopes"])
        record_key_event(
            "apikey.scopes_changed", actor, locked, {"before": before, "after": scopes}
        )
        added = [scope for scope in scopes if scope not in before]
        if added:
            notify_key_event("apikey.scopes_widened", actor, locked, added_scopes=", ".join(added))
        invalidate_after_commit(locked)
    return copy_back(key, locked)
