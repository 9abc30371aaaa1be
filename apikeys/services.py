"""API key workflows. Each one is a single transaction together with its audit event."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apikeys import tokens
from apikeys.models import DEFAULT_KEY_NAME, DEFAULT_KEY_SCOPES, SCOPES, ApiKey
from audit.services import Actor, record


def _validate_new_key(*, account, name: str, scopes: list[str]) -> None:
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise ValidationError({"name": "Give the key a name of 1 to 64 characters."})
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope."})
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope: {', '.join(unknown)}."})
    live = ApiKey.objects.for_account(account).not_revoked()
    if live.filter(name=name).exists():
        raise ValidationError(
            {"name": f"A key named “{name}” already exists. Choose another name."}
        )
    if live.counting_toward_limit().count() >= settings.APIKEY_MAX_PER_ACCOUNT:
        raise ValidationError(
            f"This account already has {settings.APIKEY_MAX_PER_ACCOUNT} keys, the most it can have "
            "(the default key plus three more). Revoke a key you no longer use, then try again."
        )


def apikey_create(
    *, account, name: str, scopes: list[str], actor: Actor, created_by=None
) -> tuple[ApiKey, str]:
    """Create a key; returns (key, plaintext). The plaintext exists only in the return value."""
    scopes = sorted(set(scopes), key=lambda s: list(SCOPES).index(s) if s in SCOPES else 99)
    with transaction.atomic():
        _validate_new_key(account=account, name=name, scopes=scopes)
        raw = tokens.generate()
        key = ApiKey(account=account, name=name.strip(), scopes=scopes, created_by=created_by)
        key.set_secret(raw)
        key.save()
        record(
            action="apikey.created",
            actor=actor,
            account=account,
            target=key,
            target_label=f"{key.name} ({key.display_id})",
            details={"name": key.name, "scopes": scopes, "public_id": key.public_id},
        )
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
