"""The request log: every /v2 request made with a credential, for incident response.

Nothing is written to the database on the request's own path. The receiver of
``api_request_finished`` pushes one JSON line into the request log's ``usage.buffer.Buffer``, and
``flush`` (a Celery beat task every few seconds, also callable directly) moves it into RequestLog
with bulk inserts. The buffer is the one every usage record goes through (Redis list through the
shared cache's client, riding in the request's ``RedisBatch``; a spool file under
VAR_DIR/requestlog when Redis is down, the write fails or the cache is not Redis; claim, insert,
give back on failure). What is particular to the request log is only its codec, ``_Lines``: an
entry is a self-contained line appended to a list, so entries are never merged, and the flush
keeps one row per entry id (a write that timed out may arrive both spooled and applied).

Country lookups happen in the flush, not on the request path.
"""

import json
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from statuspool import geoip
from statuspool.credential_format import CREDENTIAL_PATTERN
from usage.buffer import Buffer
from usage.models import RequestLog

logger = logging.getLogger("statuspool.audit.requestlog")

# Under the cache's key prefix, like every key this deployment writes to Redis: a test session (its
# own prefix) never takes or deletes the entries of a `make run` sharing the database.
REDIS_LIST = f"{settings.CACHES['default'].get('KEY_PREFIX') or 'sp'}:audit:requestlog"
TAKE_BATCH = 2000


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


# --- the buffer: a Redis list of JSON lines --------------------------------------------------------
class _Lines:
    """The request log's codec for ``usage.buffer``: an entry is one JSON line, RPUSHed onto one
    list (no MULTI needed: it is one command); a flush takes a batch with LRANGE+LTRIM in one
    MULTI, so two flushers never take the same entries."""

    atomic = False

    def queue(self, pipe, line: str) -> None:
        pipe.rpush(REDIS_LIST, line)

    def take(self, client, limit: int) -> list[str]:
        with client.pipeline(transaction=True) as pipe:
            pipe.lrange(REDIS_LIST, 0, limit - 1)
            pipe.ltrim(REDIS_LIST, limit, -1)
            items, _ = pipe.execute()
        return [item.decode() if isinstance(item, bytes) else item for item in items]

    def give_back(self, client, lines: list[str]) -> None:
        client.lpush(REDIS_LIST, *reversed(lines))

    def count(self, client) -> int:
        return client.llen(REDIS_LIST)

    def encode(self, line: str) -> str:
        return line

    def decode(self, line: str) -> str:
        return line  # parsed by the flush, which drops (and logs) a malformed line


def spool_dir() -> Path:
    configured = getattr(settings, "AUDIT_REQUEST_LOG_SPOOL_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "requestlog"


buffer = Buffer(codec=_Lines(), folder=spool_dir, during="request logging")


def _redis():
    """The shared cache's Redis client, or None when the default cache is not Redis."""
    return buffer.client()


def push(entry: dict, batch=None) -> None:
    """Buffer one entry: in ``batch`` (the request's ``RedisBatch``), else now."""
    buffer.push(json.dumps(entry, separators=(",", ":")), batch=batch)


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


def flush(*, max_entries: int = 100_000) -> int:
    """Move buffered entries into RequestLog; returns how many rows were written."""
    # Looked up at flush time, off the request path; geoip caches per address and never raises.
    country_of = geoip.country_of
    return buffer.flush(
        lambda lines: _insert(lines, country_of), batch_size=TAKE_BATCH, max_entries=max_entries
    )


def pending_in_buffer() -> int:
    """How many entries wait for the next flush (for tests and operators)."""
    return buffer.pending()
