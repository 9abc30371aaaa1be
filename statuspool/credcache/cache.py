"""Cached credential authentication whose invalidation survives a Redis outage or restart.

Any credential kind caches its authentication results through a ``GenerationCache`` (API keys:
``apikeys.authcache``; OAuth tokens can do the same with their own name).

Generations (why a plain "delete the entry" is not enough)
----------------------------------------------------------
A request may read the credential's row just before a revocation commits and write its stale
"active" entry just after the invalidation deleted the old one. So every credential has a
**generation**, a random token in the cache beside the entry: a request reads it *before* the
database and stores it in the entry it writes; an invalidation replaces it *after* the commit;
an entry is believed only while its generation is current. Generations are random, not
counters, so an evicted one can never come back with a value an old entry still carries.

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

import logging
import secrets
import threading

from django.conf import settings
from django.core.cache import cache, caches
from django.db import DatabaseError, transaction

from statuspool import sharedcache
from statuspool.credcache.models import PendingInvalidation
from statuspool.sharedcache import guard

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


def _new_generation() -> str:
    return secrets.token_hex(8)


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
        if not guard.available():
            return None, None
        if not replay_after_own_outage():
            return None, None
        entry_key, gen_key = self.entry_key(ident), self.generation_key(ident)
        try:
            found = sharedcache.get_many(caches["default"], [entry_key, gen_key, TRUST_KEY])
            generation = found.get(gen_key)
            if generation is None:
                # add() keeps a concurrent writer's generation: ours if it won, else read theirs.
                generation = _new_generation()
                if not cache.add(gen_key, generation, timeout=GENERATION_SECONDS):
                    generation = cache.get(gen_key)
        except Exception as exc:  # redis-py, socket and backend errors alike
            guard.failed(exc, f"{self.label} cache")
            return None, None
        if TRUST_KEY not in found:
            refresh_trust()
            return None, generation  # this once from the database
        entry = found.get(entry_key)
        if entry is not None and generation is not None and entry.get("generation") == generation:
            return entry, generation
        return None, generation

    def store(self, ident: str, entry: dict, generation: str | None) -> None:
        """Cache a result read from the database after ``lookup`` returned ``generation``."""
        timeout = settings.API_AUTH_CACHE_SECONDS
        if generation is None or timeout <= 0 or not guard.available():
            return
        try:
            cache.set(self.entry_key(ident), {**entry, "generation": generation}, timeout=timeout)
        except Exception as exc:
            guard.failed(exc, f"{self.label} cache")

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
        cache.set_many(generations, timeout=GENERATION_SECONDS)
        cache.delete_many(entries)
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
