"""The shared (cross-process) cache of API key authentication results.

Every change that can make a key unusable or change what it may do (revoke, suspend, rotate,
scope or allowlist change) calls ``invalidate_key`` once its transaction has committed, so the
next request in any process reads the database again.
"""

from django.core.cache import cache

_PREFIX = "apikey-auth:"


def cache_key(public_id: str) -> str:
    return f"{_PREFIX}{public_id}"


def invalidate_key(public_id: str) -> None:
    cache.delete(cache_key(public_id))
