"""One API key's IP allowlist (Enterprise) and Usage Alerts toggle: validation and workflows.

Both changes take effect on the next request in every process: the key's cached authentication
is invalidated once the change has committed (``apikeys.services.invalidate_after_commit``).
"""

import ipaddress

from django.core.exceptions import ValidationError
from django.db import transaction

from apikeys.models import ApiKey, Status
from apikeys.policy import policy_of
from apikeys.services import invalidate_after_commit, lock_key
from audit.services import Actor, record

MAX_NETWORKS = 50
TEAM_PLAN_MESSAGE = (
    "IP allowlisting is available on the Enterprise plan. Upgrade this account to Enterprise to "
    "restrict its keys to your own networks."
)
_MAPPED_IPV4 = ipaddress.ip_network("::ffff:0:0/96")


def normalise_network(text: str) -> str:
    """A CIDR block in canonical form, or ValidationError with a message a person can act on."""
    raw = text.strip()
    if not raw:
        raise ValidationError("Enter a CIDR block such as 203.0.113.0/24.")
    try:
        network = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(raw, strict=False)
        except ValueError:
            raise ValidationError(
                f"“{raw}” is not a CIDR block. Write an IPv4 or IPv6 network such as "
                "203.0.113.0/24 or 2001:db8::/48."
            )
        raise ValidationError(f"“{raw}” has host bits set: did you mean {loose}?")
    # Requests from IPv4-mapped IPv6 addresses are matched as IPv4, so store such blocks as IPv4.
    if network.version == 6 and network.subnet_of(_MAPPED_IPV4):
        mapped = network.network_address.ipv4_mapped
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return str(network)


def validate_networks(*, account, networks: list[str]) -> list[str]:
    """The list to store (canonical, in the given order), or every problem with it at once."""
    cleaned, problems = [], []
    for text in networks:
        try:
            network = normalise_network(text)
        except ValidationError as error:
            problems.extend(error.messages)
            continue
        if network in cleaned:
            problems.append(f"{network} is in the list twice.")
        else:
            cleaned.append(network)
    if cleaned and not account.is_enterprise:
        problems.insert(0, TEAM_PLAN_MESSAGE)
    if len(cleaned) > MAX_NETWORKS:
        problems.append(
            f"A key can have at most {MAX_NETWORKS} CIDR blocks ({len(cleaned)} given). "
            "Merge neighbouring blocks into larger ones."
        )
    if problems:
        raise ValidationError(problems)
    return cleaned


def _lock_unrevoked(key: ApiKey) -> ApiKey:
    locked = lock_key(key)
    if locked.status == Status.REVOKED:
        raise ValidationError("This key is revoked; its settings can no longer change.")
    return locked


def apikey_set_allowed_networks(*, key: ApiKey, networks: list[str], actor: Actor) -> ApiKey:
    """Replace the key's IP allowlist (empty = any address). Enterprise accounts only."""
    with transaction.atomic():
        key = _lock_unrevoked(key)
        cleaned = validate_networks(account=key.account, networks=networks)
        rules = policy_of(key.account)
        if not cleaned and key.allowed_networks and rules is not None and rules.require_allowlist:
            # The policy is about new keys, but emptying a list would undo it for this one.
            raise ValidationError(
                "This account's key policy requires an IP allowlist: keep at least one block."
            )
        before = list(key.allowed_networks or [])
        if cleaned == before:
            return key
        key.allowed_networks = cleaned
        key.save(update_fields=["allowed_networks"])
        record(
            action="apikey.allowlist_changed",
            actor=actor,
            account=key.account,
            target=key,
            details={
                "added": [n for n in cleaned if n not in before],
                "removed": [n for n in before if n not in cleaned],
                "allowed_networks": cleaned,
            },
        )
        invalidate_after_commit(key)
    return key


def apikey_set_usage_alerts(*, key: ApiKey, enabled: bool, actor: Actor) -> ApiKey:
    with transaction.atomic():
        key = _lock_unrevoked(key)
        if key.usage_alerts_enabled == enabled:
            return key
        key.usage_alerts_enabled = enabled
        key.save(update_fields=["usage_alerts_enabled"])
        record(
            action="apikey.usage_alerts_changed",
            actor=actor,
            account=key.account_id,
            target=key,
            details={"usage_alerts_enabled": enabled},
        )
        invalidate_after_commit(key)
    return key
