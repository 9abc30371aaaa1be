"""``Authorization: Bearer sp_live_…`` → ``Credential`` (step 1 of the /v2 pipeline for API keys).

Order matters for what an attacker can learn and what it costs us:
1. shape and checksum (no cache, no database): a typo or a guessed string stops here;
2. the shared cache (see ``apikeys.authcache`` for why a revoked key is never served from it):
   one round trip checks the presented key's digest against the entry's and counts the request
   against its rate limit (``statuspool.credcache.script``); no SQL at all;
3. the database: one query, the key joined with its account's plan and name.
The digest is checked on both the cached and the database path, so holding the public id (which
the dashboard shows) is never enough.
"""

import logging
from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from apikeys import authcache
from apikeys.models import ApiKey, Status
from statuspool import api_key_format
from statuspool.api import early_lookup, throttling
from statuspool.api.credentials import Credential, CredentialKind
from statuspool.api.errors import InvalidToken
from statuspool.credcache.prefetch import CacheLookup
from statuspool.credcache.prepared import Prepared
from statuspool.credcache.script import SecretCheck
from statuspool.crypto import current_pepper_id, keyed_digest

logger = logging.getLogger(__name__)

EXPIRED_MESSAGE = (
    "This API key expired on {date}. Create a new key in Settings → API Access (or ask a team "
    "admin to) and update the integration that uses this one."
)
SUSPENDED_MESSAGE = (
    "This API key is suspended because it was not used for a long time. A team admin can "
    "reactivate it in Settings → API Access."
)


def _entry_from_row(key: ApiKey) -> dict:
    """What the cache keeps: enough to authorise and to check the digest, never the key."""
    return {
        "id": key.pk,
        "public_id": key.public_id,
        "account_id": key.account_id,
        "plan": key.account.plan,
        # Shown by GET /v2/credential with no query; a rename or a plan change invalidates the
        # cached entries of the account's keys (``apikeys.authcache.invalidate_account``).
        "account_name": key.account.name,
        "scopes": list(key.scopes),
        "allowed_networks": list(key.allowed_networks or ()),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "grace_ends_at": key.grace_ends_at.isoformat() if key.grace_ends_at else None,
        "usage_alerts_enabled": key.usage_alerts_enabled,
    }


def _credential(entry: dict) -> Credential:
    return Credential(
        kind=CredentialKind.API_KEY,
        id=entry["id"],
        account_id=entry["account_id"],
        plan=entry["plan"],
        scopes=frozenset(entry["scopes"]),
        allowed_networks=tuple(entry["allowed_networks"]),
        rate_limit_identity=_rate_limit_identity(entry),
        label=api_key_format.display(entry["public_id"]),
        # When it stops working by itself: its expiry date or the end of its rotation grace.
        expires_at=min(
            filter(None, (entry["expires_at"], entry.get("grace_ends_at"))),
            key=datetime.fromisoformat,
            default=None,
        ),
        usage_alerts_enabled=entry["usage_alerts_enabled"],
        account_name=entry["account_name"],
    )


class _Prepared(NamedTuple):
    """A believed entry, ready for every request that presents its key."""

    credential: Credential
    expires_at: datetime | None
    grace_ends_at: datetime | None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _prepare(entry: dict) -> _Prepared:
    return _Prepared(
        _credential(entry),
        _moment(entry["expires_at"]),
        _moment(entry.get("grace_ends_at")),
    )


# Built once per cached entry a process sees (statuspool.credcache.prepared).
_prepared = Prepared(_prepare)


def _expired(expires_at: datetime) -> InvalidToken:
    date = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return InvalidToken(EXPIRED_MESSAGE.format(date=date), code="key_expired")


def _refuse(public_id: str, reason: str) -> InvalidToken:
    # The public id is what the dashboard shows; the key itself never reaches a log line.
    logger.info("API key %s refused: %s", api_key_format.display(public_id), reason)
    return InvalidToken()


def _load(public_id: str, raw: str) -> dict:
    key = (
        ApiKey.objects.select_related("account")
        .only(
            "id",
            "public_id",
            "account_id",
            "account__plan",
            "account__name",
            "scopes",
            "allowed_networks",
            "pepper_id",
            "digest",
            "status",
            "expires_at",
            "grace_ends_at",
            "usage_alerts_enabled",
        )
        .filter(public_id=public_id)
        .first()
    )
    if key is None or not key.matches(raw):
        raise _refuse(public_id, "unknown key or wrong secret")
    if key.status == Status.REVOKED:
        raise _refuse(public_id, "revoked")
    if key.is_expired:
        logger.info("API key %s refused: expired", key.display_id)
        raise _expired(key.expires_at)
    if key.status == Status.SUSPENDED:
        logger.info("API key %s refused: suspended", key.display_id)
        raise InvalidToken(SUSPENDED_MESSAGE, code="key_suspended")
    if key.grace_ended:
        raise _refuse(public_id, "grace period after rotation ended")
    return _entry_from_row(key)


def _lookup_of(raw: str) -> CacheLookup | None:
    """How ``raw`` is looked up (its public id, the digest to check); None for a malformed key."""
    if not api_key_format.is_well_formed(raw):
        return None
    pepper_id = current_pepper_id()
    secret = SecretCheck(pepper_id, keyed_digest(raw, pepper_id)[1])
    return authcache.lookup_of(api_key_format.public_id_of(raw), secret)


def authenticate_api_key(raw: str, request) -> Credential:
    found = early_lookup.look_up(request, raw, _lookup_of)
    if found is None:
        raise InvalidToken()
    public_id = api_key_format.public_id_of(raw)
    if found.wrong_secret:
        raise _refuse(public_id, "wrong secret")
    if found.believed:
        prepared = _prepared(found)
    else:
        entry = _load(public_id, raw)
        identity = _rate_limit_identity(entry)
        authcache.store(
            public_id,
            entry,
            found.generation,
            secret=_lookup_of(raw).secret,
            rate_limit_identity=identity,
            allowed_networks=entry["allowed_networks"],
            scopes=entry["scopes"],
        )
        prepared = _prepare(entry)
    # The cache may hold a key past its end: the clock, not a job, decides when it stops working.
    now = timezone.now()
    if prepared.expires_at is not None and prepared.expires_at <= now:
        raise _expired(prepared.expires_at)
    if prepared.grace_ends_at is not None and prepared.grace_ends_at <= now:
        raise _refuse(public_id, "grace period after rotation ended")
    credential = prepared.credential
    if found.count is not None:
        throttling.remember_count(
            request, credential.rate_limit_identity, found.count, found.window
        )
    return credential


authenticate_api_key.lookup_of = _lookup_of  # sent ahead by statuspool.api.early_lookup


def _rate_limit_identity(entry: dict) -> str:
    return f"key:{entry['id']}"
