"""The shared (cross-process) cache of API key authentication results.

Every change that can make a key unusable or change what it may do (revoke, suspend, rotate,
scope or allowlist change) calls ``invalidate_key`` once its transaction has committed, so the
next request in any process reads the database again.

The guarantee, and why a plain "delete the entry" is not enough
----------------------------------------------------------------
A request may read the key row just *before* a revocation commits and write its (now stale)
"active" entry just *after* ``invalidate_key`` deleted the old one. To close that window every key
has a **generation**: a random token in the cache beside the entry. A request reads the generation
*before* it reads the database and stores it in the entry it writes; ``invalidate_key`` replaces the
generation *after* the commit; an entry is only believed while its generation is the current one.
So an entry written from a database read that preceded the commit carries the old generation and
is ignored. Generations are random (not counters) so an evicted generation can never come back
with a value an old entry still carries.

Result: once ``invalidate_key`` has returned, no process accepts the key from the cache again; the
next request reads the database. If the cache itself is unreachable, authentication reads the
database every time (never a stale answer), and entries live at most
``settings.API_AUTH_CACHE_SECONDS`` (30 s by default, the documentation's promise) as a backstop
for an invalidation that could not reach the cache.

Lookups and stores go through the shared-cache circuit breaker (``sharedcache.guard``): after one
error a process skips the cache for a few seconds instead of letting every request wait for its
own timeout, and the outage is logged once per interval. Invalidation does not: it always tries,
because skipping it could leave a revoked key cached.

An entry holds what the pipeline needs and the digest to check the presented key against (never
the plaintext), so a cache hit still proves the caller holds the key.
"""

import logging
import secrets

from django.conf import settings
from django.core.cache import cache, caches

from statuspool import sharedcache
from statuspool.sharedcache import guard

logger = logging.getLogger(__name__)

_PREFIX = "apikey-auth:"
_GENERATION_PREFIX = "apikey-gen:"
# Generations must outlive every entry that could carry them; a day is plenty, and an evicted
# generation only costs one database read.
_GENERATION_SECONDS = 24 * 3600


def cache_key(public_id: str) -> str:
    return f"{_PREFIX}{public_id}"


def generation_key(public_id: str) -> str:
    return f"{_GENERATION_PREFIX}{public_id}"


def _new_generation() -> str:
    return secrets.token_hex(8)


def lookup(public_id: str) -> tuple[dict | None, str | None]:
    """Return (entry if still valid, current generation), in one cache round trip when warm.

    Call it before reading the database: the generation it returns is what ``store`` must be
    given, so an entry built from that read is dropped if an invalidation follows. (None, None)
    when the cache is unavailable: read the database and cache nothing.
    """
    if not guard.available():
        return None, None
    entry_key, gen_key = cache_key(public_id), generation_key(public_id)
    try:
        found = sharedcache.get_many(caches["default"], [entry_key, gen_key])
        generation = found.get(gen_key)
        if generation is None:
            # add() keeps a concurrent writer's generation: ours if it won, else read theirs.
            generation = _new_generation()
            if not cache.add(gen_key, generation, timeout=_GENERATION_SECONDS):
                generation = cache.get(gen_key)
    except Exception as exc:  # redis-py, socket and backend errors alike
        guard.failed(exc, "API key cache")
        return None, None
    entry = found.get(entry_key)
    if entry is not None and generation is not None and entry.get("generation") == generation:
        return entry, generation
    return None, generation


def store(public_id: str, entry: dict, generation: str | None) -> None:
    """Cache a positive result read from the database after ``lookup`` returned ``generation``."""
    timeout = settings.API_AUTH_CACHE_SECONDS
    if generation is None or timeout <= 0 or not guard.available():
        return
    try:
        cache.set(cache_key(public_id), {**entry, "generation": generation}, timeout=timeout)
    except Exception as exc:
        guard.failed(exc, "API key cache")


def invalidate_key(public_id: str) -> None:
    """Make every process re-read the key from the database. Call after the change commits."""
    try:
        cache.set(generation_key(public_id), _new_generation(), timeout=_GENERATION_SECONDS)
        cache.delete(cache_key(public_id))
    except Exception:
        # The entry expires by itself within API_AUTH_CACHE_SECONDS; say loudly that it may live
        # until then.
        logger.exception(
            "Could not invalidate the cached authentication of API key %s; it expires within %ss",
            public_id,
            settings.API_AUTH_CACHE_SECONDS,
        )
