"""The shared cache (Redis in production) as the /v2 pipeline uses it on every request.

Every authenticated request talks to Redis a few times, so what matters is how many round trips
that takes and what a dead or hanging Redis costs:

* ``guard`` is a per-process circuit breaker. After an error a process stops asking the cache for
  ``API_CACHE_RETRY_SECONDS`` and logs the outage at most once per
  ``API_CACHE_ERROR_LOG_INTERVAL``, never once per request. Meanwhile each caller falls back:
  rate limits count in process memory, authentication reads the database (so revocation still
  holds), usage records and the request log spool to disk (``usage.buffer``).
* ``redis_of(backend)`` is the redis-py client behind a Django ``RedisCache``, built once per
  backend: Django builds a new client object for every cache call, which costs about as much as a
  loopback round trip. ``get_many`` reads through it, in Django's key and value format.
* ``count_in_window`` is django-ratelimit's fixed-window counter (its ``cache.add`` with expiry,
  then ``cache.incr``: SET NX, EXISTS, INCRBY) as one atomic Lua call.
* ``RedisBatch`` carries the writes of the receivers of ``api_request_finished`` (request log,
  usage buffer) to Redis together, in one round trip.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import NoScriptError

logger = logging.getLogger(__name__)


class SharedCacheGuard:
    """A per-process circuit breaker around the shared cache, with rate-limited error logging."""

    def __init__(self):
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._next_log = 0.0
        self._suppressed = 0
        # How many errors this process has seen: a change tells the credential cache to replay
        # invalidations that may have been lost meanwhile (statuspool.credcache).
        self.failures = 0

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, exc: Exception, during: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            self._down_until = now + settings.API_CACHE_RETRY_SECONDS
            if now < self._next_log:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._next_log = now + settings.API_CACHE_ERROR_LOG_INTERVAL
        logger.error(
            "Shared cache unavailable during %s (%s: %s); rate limits are counted per process, "
            "API keys are authenticated from the database and usage is spooled to disk until it "
            "answers again (%d similar errors not logged)",
            during,
            type(exc).__name__,
            exc,
            suppressed,
        )

    def reset(self) -> None:
        with self._lock:
            self._down_until = self._next_log = 0.0
            self._suppressed = 0


guard = SharedCacheGuard()


class CacheRedis:
    """The redis-py client of one Django ``RedisCache`` and that backend's key and value format."""

    __slots__ = ("client", "make_key", "loads")

    def __init__(self, backend: RedisCache):
        # The first (write) server: counters are written, and an authentication must never read
        # a replica that has not seen a revocation yet. Same pool, so same timeouts, as Django's.
        self.client = backend._cache.get_client(write=True)
        self.make_key = backend.make_key
        self.loads = backend._cache._serializer.loads


_ATTRIBUTE = "_statuspool_redis"


def redis_of(backend) -> CacheRedis | None:
    """The reusable client of a cache backend (``caches[alias]``); None when it is not Redis.

    Kept on the backend object, which Django makes per thread and replaces when CACHES changes.
    """
    try:
        return backend.__dict__[_ATTRIBUTE]
    except KeyError:
        found = CacheRedis(backend) if isinstance(backend, RedisCache) else None
        backend.__dict__[_ATTRIBUTE] = found
        return found


def get_many(backend, keys: list[str]) -> dict:
    """``backend.get_many(keys)``: one MGET on Redis, through the client ``redis_of`` keeps."""
    redis = redis_of(backend)
    if redis is None:
        return backend.get_many(keys)
    values = redis.client.mget([redis.make_key(key) for key in keys])
    return {
        key: redis.loads(value)
        for key, value in zip(keys, values, strict=True)
        if value is not None
    }


# django-ratelimit's counting, ``cache.add(key, 0, ttl)`` then ``cache.incr(key, n)``, in one atomic
# call: no window can expire between the two, so the counter always has its expiry. An increment
# of 0 reads the counter (creating it, as ``get_usage(increment=False)`` does).
_WINDOW_COUNTER = """
redis.call('SET', KEYS[1], 0, 'NX', 'EX', ARGV[2])
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""
# Redis names scripts by their SHA-1 (EVALSHA): an identifier, not a security measure.
_WINDOW_COUNTER_SHA = hashlib.sha1(_WINDOW_COUNTER.encode(), usedforsecurity=False).hexdigest()


def count_in_window(redis: CacheRedis, key: str, increment: int, ttl: int) -> int:
    """Add ``increment`` to the counter ``key`` (a cache key, unprefixed); return its new value."""
    name = redis.make_key(key)
    try:
        return int(redis.client.evalsha(_WINDOW_COUNTER_SHA, 1, name, increment, ttl))
    except NoScriptError:  # first use since Redis started: EVAL caches the script there too
        return int(redis.client.eval(_WINDOW_COUNTER, 1, name, increment, ttl))


class RedisBatch:
    """Redis writes of one /v2 request's bookkeeping, sent in one round trip once all are made.

    The base view makes one per request (``begin``) and passes it to the receivers of
    ``api_request_finished`` as ``redis_batch``; each ``add``s its commands and what to do instead
    if they cannot be sent (the request log spools its entry to disk). The view then ``send``s
    it: one pipeline, wrapped in MULTI/EXEC when a part needs its commands applied together. A
    failed send trips ``guard`` and runs every part's fallback; it never raises.
    """

    def __init__(self, redis: CacheRedis, location: str | None):
        self.redis = redis
        self.location = location  # the cache's LOCATION: a part may need a particular Redis
        self._parts: list[tuple[Callable, Callable | None]] = []
        self._atomic = False

    @classmethod
    def begin(cls, alias: str = "default") -> "RedisBatch | None":
        """A batch on the cache ``alias``; None when it is not Redis or is known to be down."""
        if not guard.available():
            return None
        redis = redis_of(caches[alias])
        if redis is None:
            return None
        return cls(redis, settings.CACHES[alias].get("LOCATION"))

    def add(self, commands: Callable, *, on_error: Callable | None = None, atomic=False) -> None:
        """``commands(pipeline)`` queues commands; ``on_error()`` runs if they are not sent."""
        self._parts.append((commands, on_error))
        self._atomic = self._atomic or atomic

    def send(self) -> None:
        parts, self._parts = self._parts, []
        if not parts:
            return
        try:
            pipe = self.redis.client.pipeline(transaction=self._atomic)
            for commands, _ in parts:
                commands(pipe)
            pipe.execute()
        except Exception as exc:  # redis-py, socket and command errors alike: never a 500
            guard.failed(exc, "request bookkeeping (usage, request log)")
            for _, on_error in parts:
                if on_error is None:
                    continue
                try:
                    on_error()
                except Exception:
                    logger.exception("fallback of a failed Redis batch failed")
