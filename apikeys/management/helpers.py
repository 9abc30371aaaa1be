"""What the API key commands share: finding the key an operator named, describing it.

Accounts are named with ``statuspool.accounts.management.arguments.account_from``.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from apikeys.models import ApiKey
from statuspool import api_key_format


def key_from_arg(public_id: str) -> ApiKey:
    """PUBLIC_ID as shown in the dashboard; a pasted ``sp_live_…`` prefix or ``…`` is tolerated."""
    cleaned = public_id.strip().removeprefix(api_key_format.PREFIX).rstrip("…").rstrip(".")
    if len(cleaned) > api_key_format.PUBLIC_ID_LENGTH:
        raise CommandError(
            "Give the key's public id (8 characters, e.g. 4f8a2c91), never the full key."
        )
    key = ApiKey.objects.select_related("account").filter(public_id=cleaned).first()
    if key is None:
        raise CommandError(f"No API key with public id {cleaned!r}.")
    return key


def messages_of(error: ValidationError) -> str:
    return " ".join(error.messages)


def describe_status(key: ApiKey) -> str:
    if key.status == "revoked":
        return key.status
    if key.is_expired:
        return f"expired {key.expires_at:%Y-%m-%d %H:%M} UTC"
    if key.grace_ended:
        return "rotated out"
    if key.status != "active":
        return key.status
    parts = ["active"]
    if key.grace_ends_at:
        parts.append(f"rotated out, works until {key.grace_ends_at:%Y-%m-%d %H:%M} UTC")
    if key.is_stale:
        parts.append("stale")
    if key.rotation_recommended and not key.grace_ends_at:
        parts.append("rotation recommended")
    return ", ".join(parts)


def describe_expiry(key: ApiKey) -> str:
    if key.expires_at is None:
        return "never"
    return f"{key.expires_at:%Y-%m-%d %H:%M} UTC"
