"""The shared (cross-process) cache of API key authentication results.

Every change that can make a key unusable or change what it may do (revoke, suspend, rotate,
scope or allowlist change) calls ``invalidate_key`` inside its transaction, so the next request in
any process reads the database again once it commits — even when Redis is down, hanging or
restarting at that moment. How (generations, durable pending invalidations, the trust marker):
``statuspool.credcache.cache``.

An entry holds what the pipeline needs and the digest to check the presented key against (never
the plaintext), so a cache hit still proves the caller holds the key. Entries live at most
``settings.API_AUTH_CACHE_SECONDS``.
"""

from statuspool.credcache.cache import GenerationCache
from statuspool.credcache.prefetch import CacheLookup
from statuspool.credcache.script import SecretCheck

_cache = GenerationCache("apikey", label="API key")


def cache_key(public_id: str) -> str:
    return _cache.entry_key(public_id)


def generation_key(public_id: str) -> str:
    return _cache.generation_key(public_id)


def lookup(public_id: str) -> tuple[dict | None, str | None]:
    """(entry if still valid, current generation); call before reading the database and give
    the generation to ``store``. (None, None) when the cache is unavailable."""
    return _cache.lookup(public_id)


def lookup_of(public_id: str, secret: SecretCheck) -> CacheLookup:
    """The key's lookup: its entry, believed only if ``secret`` matches it, and the request
    counted against the key's rate limit, in one round trip (``statuspool.credcache.script``)."""
    return CacheLookup(_cache, public_id, secret)


def store(public_id: str, entry: dict, generation, **one_round_trip) -> None:
    """``one_round_trip``: what ``GenerationCache.store`` keeps for ``lookup_and_count``."""
    _cache.store(public_id, entry, generation, **one_round_trip)


def peek(public_id: str) -> dict | None:
    """The cached entry of a key, believed or not (tests, operators)."""
    return _cache.peek(public_id)


def invalidate_key(public_id: str) -> None:
    """Call inside the change's transaction (outside one it applies at once)."""
    _cache.invalidate(public_id)
