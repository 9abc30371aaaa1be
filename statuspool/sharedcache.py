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
* ``count_in_window`` is a fixed-window counter (SET NX with expiry, INCRBY) as one atomic Lua
  call; ``Script`` runs such calls (EVALSHA, EVAL once per Redis start) on the calling thread's
  own connection (``statuspool.redislink``: one send and one receive per call), or sends one
  ahead and reads its result later (``Script.send``: the /v2 credential lookup).
* ``RedisBatch`` carries the writes of the receivers of ``api_request_finished`` (request log,
  usage buffer) to Redis together, off the request's path: ``background`` sends the batches of
  every request of the last ``SENDER_INTERVAL`` seconds in one round trip from a thread, so no
  request waits for its bookkeeping.
"""

import atexit
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import NoScriptError

from statuspool.redislink import link_for

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


class Script:
    """A Lua script run with EVALSHA, loaded by EVAL the first time a Redis has not seen it."""

    def __init__(self, source: str):
        self.source = source
        # Redis names scripts by their SHA-1 (EVALSHA): an identifier, not a security measure.
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, client, keys: list, args: list):
        # This thread's own connection (statuspool.redislink): one send and one receive.
        sent = self.send(client, keys, args)
        if sent is not None:
            return sent.result()
        try:
            return client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return self.load_and_run(client.execute_command, keys, args)

    def send(self, client, keys: list, args: list) -> "SentScript | None":
        """Start the script now, take its result later (``SentScript.result``); None when the
        client has no link of this thread's (TLS): call the script when the result is needed."""
        link = link_for(client)
        if link is None:
            return None
        return SentScript(self, client, link, keys, args)

    def load_and_run(self, run: Callable, keys: list, args: list):
        """After NOSCRIPT (the first use since Redis started): EVAL caches the script there too."""
        return run("EVAL", self.source, len(keys), *keys, *args)


class SentScript:
    """A script sent on this thread's link, its reply read when ``result`` is first asked for."""

    __slots__ = ("script", "client", "link", "keys", "args", "outstanding")

    def __init__(self, script: Script, client, link, keys: list, args: list):
        self.script, self.client, self.link = script, client, link
        self.keys, self.args = keys, args
        self.outstanding = link.send("EVALSHA", script.sha, len(keys), *keys, *args)

    def result(self):
        """What calling the script would have returned; raises as calling it would."""
        try:
            return self.outstanding.reply()
        except NoScriptError:  # it did not run
            return self.script.load_and_run(self.link.call, self.keys, self.args)


# A fixed-window counter: create it with its expiry, then add, in one atomic call, so no window
# can expire between the two and a counter never lives without its expiry. An increment of 0
# reads the counter (creating it, as django-ratelimit's ``get_usage(increment=False)`` does).
_WINDOW_COUNTER = Script(
    """
redis.call('SET', KEYS[1], 0, 'NX', 'EX', ARGV[2])
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""
)


def count_in_window(redis: CacheRedis, key: str, increment: int, ttl: int) -> int:
    """Add ``increment`` to the counter ``key`` (a cache key, unprefixed); return its new value."""
    return int(_WINDOW_COUNTER(redis.client, [redis.make_key(key)], [increment, ttl]))


class ListAppend(NamedTuple):
    """A batch part that appends one value to the list ``key``. A batch sends all the values it
    holds for one list as one RPUSH, in order: one command per list instead of one per request."""

    key: str
    value: str

    def __call__(self, pipe) -> None:
        pipe.rpush(self.key, self.value)


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
        """Send now, in one round trip."""
        parts, self._parts = self._parts, []
        _send(self.redis, parts, self._atomic)

    def send_in_background(self) -> None:
        """Hand the commands to this process's sender thread: the request does not wait."""
        parts, self._parts = self._parts, []
        if parts:
            background.submit(self.redis, parts, self._atomic)


def _send(redis: CacheRedis, parts: list, atomic: bool) -> None:
    """One pipeline for ``parts``; on failure trip ``guard`` and run each part's fallback."""
    if not parts:
        return
    try:
        pipe = redis.client.pipeline(transaction=atomic)
        appends: dict[str, list[str]] = {}
        for commands, _ in parts:
            if type(commands) is ListAppend:
                appends.setdefault(commands.key, []).append(commands.value)
            else:
                commands(pipe)
        for key, values in appends.items():
            pipe.rpush(key, *values)
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


class BackgroundSender:
    """Sends the requests' bookkeeping batches from a thread, many requests per round trip.

    What a crash can lose: the batches handed over in the last ``interval`` seconds (at most
    ``max_pending`` of them) when the process is killed outright (SIGKILL, OOM). A normal exit
    (gunicorn's worker_exit, SIGTERM, interpreter exit) sends them first (``drain``); a failed
    send spools them to disk like any Redis failure (each part's fallback).
    """

    def __init__(self, interval: float, max_pending: int):
        self.interval = interval
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: list[tuple[CacheRedis, list, bool]] = []
        self._thread: threading.Thread | None = None
        # A forked child starts without the parent's batches and thread (no getpid per request).
        os.register_at_fork(after_in_child=self._forked)

    def submit(self, redis: CacheRedis, parts: list, atomic: bool) -> None:
        with self._lock:
            self._pending.append((redis, parts, atomic))
            full = len(self._pending) >= self.max_pending
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="redis-bookkeeping", daemon=True
                )
                self._thread.start()
        if full:
            # Redis is slower than the requests come: this request sends (and waits), so what
            # a crash can lose stays bounded by max_pending.
            self.drain()

    def drain(self) -> None:
        """Send everything handed over so far, now, in this thread (tests, shutdown, flushes)."""
        with self._send_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            # One pipeline per Redis (per connection pool: every thread's client shares it), in
            # MULTI when any part needs its commands applied together.
            by_redis: dict[int, list] = {}  # id of the pool -> [CacheRedis, parts, atomic]
            for redis, parts, atomic in pending:
                merged = by_redis.setdefault(id(redis.client.connection_pool), [redis, [], False])
                merged[1].extend(parts)
                merged[2] = merged[2] or atomic
            for redis, parts, atomic in by_redis.values():
                _send(redis, parts, atomic)

    def pending(self) -> int:
        return len(self._pending)

    def discard(self) -> None:
        """Forget what is waiting (the test suite, between tests: one test's requests must not
        reach Redis during the next)."""
        with self._send_lock, self._lock:
            self._pending = []

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # the thread must outlive any one failure
                logger.exception("could not send request bookkeeping to Redis")

    def _forked(self) -> None:
        # The parent's batches are the parent's to send: sending them here too would double them.
        # The locks may have been held by another parent thread at the fork: new ones.
        self._pending = []
        self._thread = None
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()


SENDER_INTERVAL = 0.1  # seconds: how stale the shared request log and usage may be, at most
background = BackgroundSender(interval=SENDER_INTERVAL, max_pending=1000)
atexit.register(background.drain)
