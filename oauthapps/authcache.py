"""The shared (cross-process) cache of OAuth access-token authentication results.

Keyed by the token's SHA-256 checksum (what the database stores, ``token_format.token_checksum``),
never the token: finding an entry under that key proves the caller holds the token, as finding
the row does. The entry holds plain values only (oauthapps.authentication builds it): no token,
no client-secret digest, no password hash.

Every change that can make a token unusable or change what it may do invalidates the entries of
the tokens concerned inside its transaction (generations and durable pending invalidations:
``statuspool.credcache.cache``), so the next request in any process reads the database again:

* a deleted access token (RFC 7009 revocation, rotation of its refresh token, a revoked grant or
  token family, a deleted application, user or account): ``oauthapps.signals``, on every delete;
* the grant user's membership of the account saved (role change, ownership transfer), the user
  deactivated, the account's plan changed: ``oauthapps.signals``, every live token concerned;
* the application renamed (the credential's label): ``services.application_update``.
"""

from django.utils import timezone

from oauthapps.models import AccessToken
from statuspool.credcache.cache import GenerationCache
from statuspool.credcache.prefetch import CacheLookup

_cache = GenerationCache("oauth", label="OAuth token")


def entry_key(checksum: str) -> str:
    return _cache.entry_key(checksum)


def lookup(checksum: str) -> tuple[dict | None, str | None]:
    """(entry if still valid, current generation); call before reading the database and give
    the generation to ``store``. (None, None) when the cache is unavailable."""
    return _cache.lookup(checksum)


def lookup_of(checksum: str) -> CacheLookup:
    """The token's lookup: its entry and the request counted against its rate limit, in one
    round trip (``statuspool.credcache.script``; no secret to compare: the key is the token's
    digest)."""
    return CacheLookup(_cache, checksum)


def store(checksum: str, entry: dict, generation, **one_round_trip) -> None:
    """``one_round_trip``: what ``GenerationCache.store`` keeps for ``lookup_and_count``."""
    _cache.store(checksum, entry, generation, **one_round_trip)


def peek(checksum: str) -> dict | None:
    """The cached entry of a token, believed or not (tests, operators)."""
    return _cache.peek(checksum)


def invalidate_token(checksum: str) -> None:
    """Call inside the change's transaction (outside one it applies at once)."""
    _cache.invalidate(checksum)


def invalidate_live_tokens(**filters) -> int:
    """Invalidate every unexpired access token matching ``filters`` (an expired one is refused
    by the clock anyway); returns how many. One query, then one row per token."""
    checksums = AccessToken.objects.filter(expires__gt=timezone.now(), **filters).values_list(
        "token_checksum", flat=True
    )
    count = 0
    for checksum in checksums:
        _cache.invalidate(checksum)
        count += 1
    return count
