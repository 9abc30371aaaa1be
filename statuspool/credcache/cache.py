"""Cached credential authentication whose invalidation survives a Redis outage or restart.

Any credential kind caches its authentication results through a ``GenerationCache`` (API keys:
``apikeys.authcache``; OAuth tokens can do the same with their own name).

Generations (why a plain "delete the entry" is not enough)
----------------------------------------------------------
A request may read the credential's row just before a revocation commits and write its stale
"active" entry just after the invalidation deleted the old one. So every credential has a
**generation**, a unique token in the cache beside the entry: a request reads it *before* the
database and stores it in the entry it writes; an invalidation replaces it *after* the commit;
an entry is believed only while its generation is current. Generations are never
reused (a random per-process prefix and a serial, not a per-credential counter), so an evicted
one can never come back with a value an old entry still carries.

Durability (an invalidation Redis never received)
--------------------------------------------------
``invalidate`` writes a ``PendingInvalidation`` row in the change's own transaction and applies
it to Redis after the commit; the row is deleted only once Redis has confirmed. A row left behind
(Redis down, paused, restarting) is **replayed** before any cache entry is believed again:

* by every process that itself saw the outage (its circuit breaker tripped): its next lookup
  replays the pending rows first;
* by everyone else through a **trust marker**: a key that lives ``API_AUTH_TRUST_SECONDS`` and is
  set only right after a replay found nothing left pending. Entries are believed only while the
  marker exists (it is read in the same round trip as the entry). An outage longer than that
  makes it expire, and a Redis restarted from its append-only file comes back with the stale
  entries but without a live marker; the first lookup then replays (one process at a time, under
  a short lock) and reads the database meanwhile.

So after any outage longer than ``API_AUTH_TRUST_SECONDS``, the first request in every process is
refused for a credential revoked during it; a shorter one is bounded by that many seconds. Entries
also expire after ``API_AUTH_CACHE_SECONDS`` whatever happens.

Lookups and stores go through the shared-cache circuit breaker (``sharedcache.guard``).
"""

import itertools
import json
import logging
import os
import secrets
import threading

from django.conf import settings
from django.core.cache import cache, caches
from django.db import DatabaseError, transaction

from statuspool import sharedcache
from statuspool.credcache.models import PendingInvalidation
from statuspool.credcache.prefetch import Prefetch
from statuspool.credcache.script import (
    BAD_SECRET,
    HIT,
    LOOKUP_AND_COUNT,
    UNTRUSTED,
    Counting,
    Lookup,
    SecretCheck,
    network_ranges,
    window_edge,
)
from statuspool.sharedcache import guard, redis_of

logger = logging.getLogger(__name__)

TRUST_KEY = "credcache:trusted"
_REPLAY_LOCK = "credcache:replaying"
_REPLAY_BATCH = 500
# Generations must outlive every entry that could carry them; a day is plenty, and an evicted
# generation only costs one database read.
GENERATION_SECONDS = 24 * 3600

_caches: dict[str, "GenerationCache"] = {}
_replayed = {"through": 0}  # guard.failures as of this process's last complete replay
_replay_lock = threading.Lock()


_generation_prefix = secrets.token_hex(8)
_generation_serial = itertools.count()


def _new_generation() -> str:
    """A value no generation ever had: this process's random prefix and a serial (a new one after
    a fork). Unique is what matters, not secret; and no system call on the request's path."""
    return f"{_generation_prefix}{next(_generation_serial):x}"


def _new_generation_prefix() -> None:
    global _generation_prefix, _generation_serial
    _generation_prefix, _generation_serial = secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_new_generation_prefix)


class GenerationCache:
    def __init__(self, name: str, *, label: str):
        self.name = name
        self.label = label  # in log lines: "Shared cache unavailable during API key cache"
        _caches[name] = self

    def entry_key(self, ident: str) -> str:
        return f"{self.name}-auth:{ident}"

    def generation_key(self, ident: str) -> str:
        return f"{self.name}-gen:{ident}"

    def lookup(self, ident: str) -> tuple[dict | None, str | None]:
        """(entry if it may be believed, current generation); call before reading the database.

        (None, None) when the cache is unavailable: read the database and cache nothing.
        """
        found = self.lookup_and_count(ident)
        return found.entry, found.generation

    def lookup_and_count(
        self, ident: str, *, secret: SecretCheck | None = None, counting: Counting | None = None
    ) -> Lookup:
        """The cached entry, checked and counted in one round trip (Redis), else what to store.

        On Redis one script (``statuspool.credcache.script``) reads the entry, its generation and
        the trust marker, compares ``secret`` with the digest stored beside the entry and, when
        the entry is believed and its credential may be counted here, adds the request to its
        rate-limit window (``counting``): the whole warm path of a /v2 request in one round trip.
        Other caches (the embedded default's file cache) read the entry and count nothing.
        """
        if not guard.available():
            return Lookup()
        if not replay_after_own_outage():
            return Lookup()
        redis = redis_of(caches["default"])
        try:
            if redis is None:
                return self._lookup_in_django_cache(ident)
            reply = LOOKUP_AND_COUNT(
                redis.client, *self._script_call(redis, ident, secret, counting)
            )
        except Exception as exc:  # redis-py, socket and backend errors alike
            guard.failed(exc, f"{self.label} cache")
            return Lookup()
        return self.interpret(reply)

    def interpret(self, reply) -> Lookup:
        """What the script's reply means for the lookup it answered."""
        status = int(reply[0])
        if status == HIT:
            count = None if reply[2] is None else int(reply[2])
            window = None if reply[3] is None else int(reply[3])
            return Lookup(payload=reply[1], count=count, window=window)
        if status == BAD_SECRET:
            return Lookup(wrong_secret=True)
        if status == UNTRUSTED:
            refresh_trust()
        return Lookup(generation=reply[1])  # from the database this once

    def prefetch(
        self, ident: str, *, secret: SecretCheck | None = None, counting: Counting | None = None
    ) -> Prefetch | None:
        """``lookup_and_count``'s script sent now; ``Prefetch.lookup()`` is what it would have
        returned (``statuspool.credcache.prefetch``). None where it would not send it (Redis
        down or absent, a TLS connection): call ``lookup_and_count`` when the result is needed."""
        if not guard.available() or not replay_after_own_outage():
            return None
        redis = redis_of(caches["default"])
        if redis is None:
            return None
        try:
            sent = LOOKUP_AND_COUNT.send(
                redis.client, *self._script_call(redis, ident, secret, counting)
            )
        except Exception as exc:  # tripped now, so authentication does not wait for it again
            guard.failed(exc, f"{self.label} cache")
            return None
        if sent is None:
            return None
        return Prefetch(self, sent)

    def _script_call(self, redis, ident: str, secret, counting) -> tuple[list, list]:
        """The keys and arguments of ``LOOKUP_AND_COUNT`` for one lookup."""
        keys = [
            redis.make_key(self.entry_key(ident)),
            redis.make_key(self.generation_key(ident)),
            redis.make_key(TRUST_KEY),
        ]
        args = [
            *(secret.arguments() if secret else ("", "")),
            *(counting.arguments(redis.make_key) if counting else ("", 0, 0, 0, "")),
            _new_generation(),
            GENERATION_SECONDS,
            counting.scope if counting else "",
        ]
        return keys, args

    def _lookup_in_django_cache(self, ident: str) -> Lookup:
        entry_key, gen_key = self.entry_key(ident), self.generation_key(ident)
        found = sharedcache.get_many(caches["default"], [entry_key, gen_key, TRUST_KEY])
        generation = found.get(gen_key)
        if generation is None:
            # add() keeps a concurrent writer's generation: ours if it won, else read theirs.
            generation = _new_generation()
            if not cache.add(gen_key, generation, timeout=GENERATION_SECONDS):
                generation = cache.get(gen_key)
        if TRUST_KEY not in found:
            refresh_trust()
            return Lookup(generation=generation)
        entry = found.get(entry_key)
        if entry is not None and generation is not None and entry.get("generation") == generation:
            return Lookup(cached={k: v for k, v in entry.items() if k != "generation"})
        return Lookup(generation=generation)

    def store(
        self,
        ident: str,
        entry: dict,
        generation,
        *,
        secret: SecretCheck | None = None,
        rate_limit_identity: str = "",
        allowed_networks=(),
        scopes=(),
        count_after_checks: bool = False,
    ) -> None:
        """Cache ``entry`` (JSON-serialisable) read from the database after ``lookup`` returned
        ``generation``.

        For the one-round-trip path: ``secret``, the digest a presented credential must match
        (absent when the ident itself proves possession, e.g. a token's digest);
        ``rate_limit_identity``, the counter a request with it is added to; ``allowed_networks``,
        outside which a request is not counted (the allowlist refuses it); ``scopes``, without
        which a request is not counted (the scope check refuses it); and
        ``count_after_checks`` when the credential must pass another check before it counts
        (a DPoP proof): then the script only reads.
        """
        timeout = settings.API_AUTH_CACHE_SECONDS
        if generation is None or timeout <= 0 or not guard.available():
            return
        redis = redis_of(caches["default"])
        try:
            if redis is None:
                cache.set(self.entry_key(ident), {**entry, "generation": generation}, timeout)
                return
            fields = {
                "g": generation,
                "v": json.dumps(entry, separators=(",", ":")),
                "r": rate_limit_identity if not count_after_checks else "",
                "w": window_edge(rate_limit_identity),
                "n": json.dumps(network_ranges(allowed_networks)) if allowed_networks else "",
                "s": " " + " ".join(scopes) + " ",
            }
            if secret is not None:
                fields["p"], fields["d"] = secret.pepper_id, secret.digest
            key = redis.make_key(self.entry_key(ident))
            with redis.client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                pipe.hset(key, mapping=fields)
                pipe.expire(key, timeout)
                pipe.execute()
        except Exception as exc:
            guard.failed(exc, f"{self.label} cache")

    def peek(self, ident: str) -> dict | None:
        """What is cached for ``ident``, believed or not (tests, operators): the payload, with the
        script's fields as ``_generation``, ``_pepper_id``, ``_digest``, ``_rate_limit_identity``."""
        redis = redis_of(caches["default"])
        if redis is None:
            return cache.get(self.entry_key(ident))
        stored = redis.client.hgetall(redis.make_key(self.entry_key(ident)))
        if not stored:
            return None
        fields = {name.decode(): value for name, value in stored.items()}
        text = {name: value.decode() for name, value in fields.items() if name != "g"}
        return {
            **json.loads(text["v"]),
            "_generation": fields["g"],
            "_pepper_id": text.get("p"),
            "_digest": text.get("d"),
            "_rate_limit_identity": text.get("r"),
        }

    def invalidate(self, ident: str) -> None:
        """Call inside the transaction of the change: every process stops believing the cached
        result once it commits, even if Redis only hears of it after an outage."""
        pending = PendingInvalidation.objects.create(cache=self.name, ident=ident)
        transaction.on_commit(lambda: apply([pending]))


def apply(rows: list[PendingInvalidation]) -> bool:
    """New generations for the rows' credentials, then delete the rows; False if Redis failed."""
    if not rows:
        return True
    generations, entries = {}, []
    for row in rows:
        owner = _caches.get(row.cache)
        if owner is not None:
            generations[owner.generation_key(row.ident)] = _new_generation()
            entries.append(owner.entry_key(row.ident))
    try:
        redis = redis_of(caches["default"])
        if redis is None:
            cache.set_many(generations, timeout=GENERATION_SECONDS)
            cache.delete_many(entries)
        else:  # one round trip (the script compares generations as stored, whoever wrote them)
            with redis.client.pipeline(transaction=True) as pipe:
                for key, generation in generations.items():
                    pipe.set(redis.make_key(key), generation, ex=GENERATION_SECONDS)
                if entries:
                    pipe.delete(*(redis.make_key(key) for key in entries))
                pipe.execute()
    except Exception as exc:
        guard.failed(exc, "credential cache invalidation")
        logger.warning(
            "%d credential cache invalidation(s) wait in the database until Redis answers",
            len(rows),
        )
        return False
    try:
        PendingInvalidation.objects.filter(pk__in=[row.pk for row in rows]).delete()
    except Exception:
        # Applied twice later is harmless (one more database read per credential).
        logger.exception("could not delete applied cache invalidations")
    return True


def replay_pending() -> bool:
    """Apply every pending invalidation; True when none is left."""
    while True:
        rows = list(PendingInvalidation.objects.all()[:_REPLAY_BATCH])
        if not apply(rows):
            return False
        if len(rows) < _REPLAY_BATCH:
            return True


def refresh_trust() -> None:
    """Replay what is pending and set the trust marker, one process at a time."""
    try:
        if not cache.add(_REPLAY_LOCK, 1, timeout=10):
            return  # another process is replaying; until it is done, read the database
    except Exception as exc:
        guard.failed(exc, "credential cache invalidation")
        return
    try:
        done = replay_pending()
    except DatabaseError:
        done = False  # the database is down: nothing can be believed (statuspool.database)
    try:
        if done:
            cache.set(TRUST_KEY, 1, timeout=settings.API_AUTH_TRUST_SECONDS)
        cache.delete(_REPLAY_LOCK)
    except Exception as exc:
        guard.failed(exc, "credential cache invalidation")


def replay_after_own_outage() -> bool:
    """A process whose circuit breaker tripped replays before believing the cache again."""
    failures = guard.failures
    if _replayed["through"] == failures:
        return True
    with _replay_lock:
        if _replayed["through"] == failures:
            return True
        try:
            done = replay_pending()
        except DatabaseError:
            return False  # believe nothing until the database answers again
        if done:
            _replayed["through"] = failures
        return done
