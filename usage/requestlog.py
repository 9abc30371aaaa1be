"""The request log: every /v2 request made with a credential, for incident response.

Nothing is written to the database on the request's own path. The receiver of
``api_request_finished`` appends one JSON line to a buffer, and ``flush`` (a Celery beat task every
few seconds, also callable directly) moves the buffer into RequestLog with bulk inserts:

- With Redis (REDIS_URL, production): RPUSH onto one list shared by every web process, through
  the one Redis client of the project (the shared cache's, ``statuspool.sharedcache.redis_of``,
  which the last-used buffer uses too); the flush takes a batch with LRANGE+LTRIM in one MULTI,
  so two flushers never take the same entries. On a /v2 request the RPUSH rides in the request's
  ``RedisBatch`` (one round trip with the last-used buffer's write).
- Without Redis (embedded default): a spool file per web process under VAR_DIR/requestlog. The
  embedded mode runs the web server and the Celery worker as separate processes, so a buffer in
  the web process's memory could only be flushed by the web process itself, on a request thread
  (an INSERT after every response, showing up in every request's query count) or on a thread of
  its own; an append to a local file costs microseconds and lets the worker's beat task flush it
  like the Redis list. Trade-off: entries sit on local disk until the next flush (seconds), and a
  crash of the flusher between claiming a file and inserting it can only replay the file, never
  lose it (the claimed file is deleted after the insert commits).
- If Redis is unreachable, entries go to the spool file instead; the flush drains both. Redis's
  circuit breaker (``statuspool.sharedcache.guard``) is shared with the rest of the pipeline:
  once Redis failed, entries are spooled at once for a few seconds instead of each request waiting
  for its own timeout, and the outage is logged once per interval.

Country lookups happen in the flush, not on the request path.
"""

import fcntl
import json
import logging
import os
import socket
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from statuspool import geoip
from statuspool.credential_format import CREDENTIAL_PATTERN
from statuspool.sharedcache import guard, redis_of
from usage.models import RequestLog

logger = logging.getLogger("statuspool.audit.requestlog")

# Under the cache's key prefix, like every key this deployment writes to Redis: a test session (its
# own prefix) never takes or deletes the entries of a `make run` sharing the database.
REDIS_LIST = f"{settings.CACHES['default'].get('KEY_PREFIX') or 'sp'}:audit:requestlog"
TAKE_BATCH = 2000
_CLAIM_STALE_AFTER = 300  # seconds: a claimed spool file older than this belongs to a dead flusher


# --- building an entry (request path) ------------------------------------------------------------
def entry_for(*, credential, request, response, ip, duration_ms) -> dict:
    started = timezone.now() - timedelta(milliseconds=duration_ms or 0)
    return {
        # Names the entry wherever it travels: a Redis write that timed out is spooled too, and
        # may still have reached Redis; the flush keeps one row per id.
        "u": uuid.uuid4().hex,
        "t": started.isoformat(),
        "a": credential.account_id,
        "k": credential.kind,
        "c": credential.id,
        "l": (credential.label or "")[:200],
        "m": request.method[:10],
        # The path only: query strings can carry values that must not be stored, and a credential
        # pasted into a path is redacted rather than kept.
        "p": CREDENTIAL_PATTERN.sub("[redacted]", request.path)[:500],
        "s": response.status_code,
        "ip": ip,
        "ua": request.META.get("HTTP_USER_AGENT", "")[:400],
        "d": max(0, int(duration_ms or 0)),
    }


def on_api_request_finished(
    sender, *, credential, request, response, ip, duration_ms, redis_batch=None, **kwargs
):
    """Receiver of statuspool.api.signals.api_request_finished (connected in AuditConfig)."""
    try:
        push(
            entry_for(
                credential=credential,
                request=request,
                response=response,
                ip=ip,
                duration_ms=duration_ms,
            ),
            batch=redis_batch,
        )
    except Exception:  # the request log must never break the request it describes
        logger.exception("could not buffer a request-log entry")


# --- the two buffers -------------------------------------------------------------------------------
def _redis():
    """The shared cache's Redis client, or None when the default cache is not Redis."""
    shared = redis_of(caches["default"])
    return shared.client if shared is not None else None


def spool_dir() -> Path:
    configured = getattr(settings, "AUDIT_REQUEST_LOG_SPOOL_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "requestlog"


def _spool_path(folder: Path | None = None) -> Path:
    return (folder or spool_dir()) / f"{socket.gethostname()}-{os.getpid()}.jsonl"


def _spool_append(line: bytes, folder: Path | None = None) -> None:
    """Append one line to this process's spool file in ``folder`` (the request log's by default;
    the last-used buffer spools through here too)."""
    path = _spool_path(folder)
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


def push(entry: dict, batch=None) -> None:
    """Buffer one entry: in ``batch`` (the request's ``RedisBatch``), else now."""
    line = json.dumps(entry, separators=(",", ":"))
    if guard.available():
        if batch is not None:
            batch.add(
                lambda pipe: pipe.rpush(REDIS_LIST, line),
                on_error=lambda: _spool_append(line.encode() + b"\n"),
            )
            return
        client = _redis()
        if client is not None:
            try:
                client.rpush(REDIS_LIST, line)
                return
            except Exception as error:  # redis.RedisError, OSError: keep the entry locally
                guard.failed(error, "request logging")
    _spool_append(line.encode() + b"\n")


def _take_from_redis(client, limit: int) -> list[str]:
    with client.pipeline(transaction=True) as pipe:
        pipe.lrange(REDIS_LIST, 0, limit - 1)
        pipe.ltrim(REDIS_LIST, limit, -1)
        items, _ = pipe.execute()
    return [item.decode() if isinstance(item, bytes) else item for item in items]


def _give_back_to_redis(client, lines: list[str]) -> None:
    if lines:
        client.lpush(REDIS_LIST, *reversed(lines))


def _claim_spool_files(folder: Path | None = None) -> list[Path]:
    """Atomically take every spool file (writers reopen a fresh one) and stale claims."""
    folder = folder or spool_dir()
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
            elif path.suffix == ".part" and time.time() - path.stat().st_mtime > _CLAIM_STALE_AFTER:
                os.rename(path, target)
            else:
                continue
        except FileNotFoundError:
            continue  # another flusher claimed it first
        claimed.append(target)
    return claimed


# --- flushing ----------------------------------------------------------------------------------
def _rows(lines: list[str], country_of) -> list[RequestLog]:
    rows = []
    for line in lines:
        try:
            entry = json.loads(line)
            rows.append(
                RequestLog(
                    entry_id=entry.get("u"),
                    occurred_at=datetime.fromisoformat(entry["t"]),
                    account_id=entry["a"],
                    credential_kind=entry["k"],
                    credential_id=entry["c"],
                    credential_label=entry.get("l", ""),
                    method=entry["m"],
                    path=entry["p"],
                    status=entry["s"],
                    ip=entry.get("ip"),
                    country=country_of(entry.get("ip")),
                    user_agent=entry.get("ua", ""),
                    duration_ms=entry.get("d", 0),
                )
            )
        except (ValueError, KeyError, TypeError):
            logger.error("request log: dropping a malformed buffer entry")
    return rows


def _insert(lines: list[str], country_of) -> int:
    rows = _rows(lines, country_of)
    with transaction.atomic():
        # An entry both spooled and applied by Redis (a write that timed out) arrives twice.
        RequestLog.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def _flush_redis(client, max_entries: int, country_of) -> int:
    written = 0
    while written < max_entries:
        lines = _take_from_redis(client, min(TAKE_BATCH, max_entries - written))
        if not lines:
            break
        try:
            written += _insert(lines, country_of)
        except Exception:
            _give_back_to_redis(client, lines)
            raise
    return written


def flush(*, max_entries: int = 100_000) -> int:
    """Move buffered entries into RequestLog; returns how many rows were written."""
    import redis

    # Looked up at flush time, off the request path; geoip caches per address and never raises.
    country_of = geoip.country_of
    written = 0
    client = _redis()
    if client is not None:
        try:
            written += _flush_redis(client, max_entries, country_of)
        except redis.RedisError as error:
            logger.warning("request log: Redis unavailable during flush (%s)", error)
    for path in _claim_spool_files():
        lines = path.read_text().splitlines()
        written += _insert(lines, country_of)
        path.unlink()
    return written


def pending_in_buffer() -> int:
    """How many entries wait for the next flush (for tests and operators)."""
    waiting = 0
    client = _redis()
    if client is not None:
        try:
            waiting += client.llen(REDIS_LIST)
        except Exception as error:
            logger.warning("request log: Redis unavailable (%s)", error)
    folder = spool_dir()
    if folder.exists():
        for path in folder.iterdir():
            if path.suffix in (".jsonl", ".part"):
                with path.open("rb") as handle:
                    waiting += sum(1 for _ in handle)
    return waiting
