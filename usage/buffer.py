"""The one buffer-then-flush of what /v2 requests leave behind (request log, last used).

Nothing a request leaves behind is written to the database on the request's path. A ``Buffer``
keeps entries until a beat task flushes them:

- Primary: the shared cache's Redis, through its one client (``statuspool.sharedcache.redis_of``),
  shared by every web process. On a /v2 request an entry's commands ride in the request's
  ``RedisBatch``, which the process's sender thread sends with other requests' (no request waits
  for it; a flush, ``pending`` and ``take`` in this process send what is waiting first).
- Fallback: a spool file per process under the buffer's folder, when Redis is known down (the
  shared circuit breaker, ``guard``), when a write or the request's batch fails, and when the
  default cache is not Redis (the embedded mode, where the web server and the Celery worker are
  separate processes: a local file lets the worker's beat task flush it). A timed-out Redis write
  may have been applied as well as spooled: entries carry what the flush needs to write it once.
- ``flush(write)``: claim (take a batch from Redis atomically, and every spool file by renaming
  it) → ``write`` → delete the claimed files; on failure both are given back for the next run.
  A flusher that dies mid-way leaves its claimed files, taken again once the claim is stale: a
  crash replays entries, never loses them.

What differs between the buffers is only a ``Codec``: how an entry is kept in Redis (a list
line, a hash merged per credential), taken, given back and written to / read from a spool line.
"""

import fcntl
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from django.core.cache import caches

from statuspool.sharedcache import ListAppend, RedisBatch, background, guard, redis_of

logger = logging.getLogger(__name__)

CLAIM_STALE_AFTER = 300  # seconds: a claimed spool file older than this belongs to a dead flusher


class Codec(Protocol):
    """How one buffer's entries look in Redis and on disk. ``taken`` items (what ``take`` and
    ``decode`` return, what ``write`` receives) may differ from pushed ones (a hash merges them)."""

    atomic: bool  # an entry's commands must be applied together (MULTI): a flush never half-takes
    # The list an entry is appended to (one RPUSH of ``encode``), or None when ``queue`` says how
    # it is buffered: appended entries ride as ``sharedcache.ListAppend``, one RPUSH per batch.
    appends_to: str | None

    def queue(self, pipe, item) -> None: ...  # the commands buffering ``item`` (no appends_to)

    def take(self, client, limit: int) -> list: ...  # remove and return up to ``limit``, atomically

    def give_back(self, client, taken: list) -> None: ...  # undo ``take`` after a failed write

    def count(self, client) -> int: ...  # how many wait in Redis

    def encode(self, item) -> str: ...  # one spool line, no newline

    def decode(self, line: str) -> Any: ...  # a taken item, or None for a line to drop


class Buffer:
    def __init__(self, *, codec: Codec, folder: Callable[[], Path], during: str):
        self.codec = codec
        self._folder = folder  # a callable: tests and settings may move it at run time
        self.during = during  # names the buffer in the circuit breaker's log

    # --- buffering (request path) ---------------------------------------------------------------
    def client(self):
        """The shared cache's Redis client, or None when the default cache is not Redis."""
        shared = redis_of(caches["default"])
        return shared.client if shared is not None else None

    def push(self, item, batch: RedisBatch | None = None) -> None:
        """Buffer ``item``: in ``batch`` (the request's ``RedisBatch``), else now; on disk when
        Redis cannot take it. Never raises for Redis's sake."""
        if guard.available():
            if batch is not None:
                batch.add(
                    self._batched(item),
                    on_error=lambda: self.spool(item),
                    atomic=self.codec.atomic,
                )
                return
            client = self.client()
            if client is not None:
                try:
                    with client.pipeline(transaction=self.codec.atomic) as pipe:
                        self._batched(item)(pipe)
                        pipe.execute()
                    return
                except Exception as error:  # redis.RedisError, OSError: keep the entry locally
                    guard.failed(error, self.during)
        self.spool(item)

    def _batched(self, item) -> Callable:
        """The commands buffering ``item``, as a batch part (a pipeline callable)."""
        if self.codec.appends_to:
            return ListAppend(self.codec.appends_to, self.codec.encode(item))
        return lambda pipe: self.codec.queue(pipe, item)

    # --- the spool ------------------------------------------------------------------------------
    def spool_dir(self) -> Path:
        return self._folder()

    def spool_path(self) -> Path:
        return self.spool_dir() / f"{socket.gethostname()}-{os.getpid()}.jsonl"

    def spool(self, item) -> None:
        try:
            self.spool_append(self.codec.encode(item).encode() + b"\n")
        except OSError:  # a full or read-only disk: the request is served all the same
            logger.exception("could not spool a %s entry", self.during)

    def spool_append(self, line: bytes) -> None:
        """Append one line to this process's spool file."""
        path = self.spool_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
                except FileNotFoundError:
                    same_file = False
                if same_file:  # else a flusher claimed the file between our open and lock: reopen
                    os.write(fd, line)
                    return
            finally:
                os.close(fd)
        raise OSError(f"could not append to {path}")

    def claim_spool_files(self) -> list[Path]:
        """Atomically take every spool file (writers reopen a fresh one) and stale claims."""
        folder = self.spool_dir()
        if not folder.exists():
            return []
        claimed = []
        for path in sorted(folder.iterdir()):
            target = folder / f"claimed-{uuid.uuid4().hex}.part"
            try:
                if path.suffix == ".jsonl":
                    fd = os.open(path, os.O_RDONLY)
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX)  # no writer is half-way through a line
                        os.rename(path, target)
                    finally:
                        os.close(fd)
                elif (
                    path.suffix == ".part"
                    and time.time() - path.stat().st_mtime > CLAIM_STALE_AFTER
                ):
                    os.rename(path, target)
                else:
                    continue
            except FileNotFoundError:
                continue  # another flusher claimed it first
            claimed.append(target)
        return claimed

    def _read_claimed(self, paths: list[Path]) -> list:
        items = []
        for path in paths:
            for line in path.read_text().splitlines():
                item = self.codec.decode(line)
                if item is not None:
                    items.append(item)
        return items

    # --- flushing -------------------------------------------------------------------------------
    def take(self, limit: int = 100_000) -> list:
        """Take up to ``limit`` entries from Redis (none without Redis); the caller owns them."""
        background.drain()
        client = self.client()
        return self.codec.take(client, limit) if client is not None else []

    def flush(
        self,
        write: Callable[[list], int],
        *,
        batch_size: int = 2000,
        max_entries: int = 100_000,
        redis_required: bool = False,
    ) -> int:
        """Claim → ``write(taken)`` → forget, batch after batch; returns what ``write`` counted.

        The first batch carries every spool file with Redis's first batch, so ``write`` sees an
        outage's entries together with those made since. ``redis_required``: a Redis error is
        raised before anything is claimed (else logged, and the spool is flushed without it).
        """
        import redis

        background.drain()  # this process's requests of the last moment, first
        written, first = 0, True
        client = self.client()
        while first or written < max_entries:
            taken = []
            if client is not None:
                try:
                    taken = self.codec.take(client, min(batch_size, max_entries - written))
                except redis.RedisError as error:
                    if redis_required:
                        raise
                    logger.warning("%s: Redis unavailable during flush (%s)", self.during, error)
                    client = None
            paths = self.claim_spool_files() if first else []
            first = False
            items = [*taken, *self._read_claimed(paths)]
            if not items and not paths:
                break
            try:
                written += write(items)
            except Exception:
                self._give_back(client, taken, paths)
                raise
            for path in paths:
                path.unlink(missing_ok=True)
            if client is None:
                break
        return written

    def _give_back(self, client, taken: list, paths: list[Path]) -> None:
        """Undo a claim whose write failed: the next flush takes it again at once."""
        for path in paths:
            # A name no writer appends to (theirs are host-pid), claimed like any spool file.
            try:
                path.rename(path.with_name(f"returned-{uuid.uuid4().hex}.jsonl"))
            except OSError:  # left claimed: taken again once the claim is stale
                logger.exception("%s: could not give back %s", self.during, path.name)
        if taken:
            self.codec.give_back(client, taken)

    def pending(self) -> int:
        """How many entries wait for the next flush (for tests and operators)."""
        background.drain()
        waiting = 0
        client = self.client()
        if client is not None:
            try:
                waiting += self.codec.count(client)
            except Exception as error:
                logger.warning("%s: Redis unavailable (%s)", self.during, error)
        folder = self.spool_dir()
        if folder.exists():
            for path in folder.iterdir():
                if path.suffix in (".jsonl", ".part"):
                    with path.open("rb") as handle:
                        waiting += sum(1 for _ in handle)
        return waiting
