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

import ipaddress
import itertools
import json
import logging
import os
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from statuspool import geoip
from statuspool.credential_format import CREDENTIAL_PATTERN
from usage import bulksql, rollups
from usage.buffer import Buffer
from usage.models import RequestLog

logger = logging.getLogger("statuspool.audit.requestlog")

# Under the cache's key prefix, like every key this deployment writes to Redis: a test session (its
# own prefix) never takes or deletes the entries of a `make run` sharing the database.
REDIS_LIST = f"{settings.CACHES['default'].get('KEY_PREFIX') or 'sp'}:audit:requestlog"
# Entries per flush transaction: the rollups cost per credential-hour a batch touches, so a bigger
# batch spreads them over more rows (40,000 entries from 200 keys, load ~2.5: 5,000 a batch
# ~14-17k rows/s, 10,000 ~17-18k, 20,000 ~20-23k). 20,000 keeps a transaction, its rollup locks
# (another flusher waits for them) and what a failed batch gives back to the buffer near a second.
TAKE_BATCH = 20000


# --- building an entry (request path) ------------------------------------------------------------
class _EntryIds:
    """Entry ids without a random read per request: 64 random bits drawn once per process (and
    again after a fork), then a counter. 32 hex digits, the column's UUID format; two processes
    collide only if they draw the same 64 bits."""

    def __init__(self):
        self._start()
        os.register_at_fork(after_in_child=self._start)

    def _start(self) -> None:
        self._prefix = f"{secrets.randbits(64):016x}"
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


_entry_ids = _EntryIds()
# One encoder for every entry: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":")).encode


def entry_for(*, credential, request, response, ip, duration_ms) -> dict:
    started = timezone.now() - timedelta(milliseconds=duration_ms or 0)
    return {
        # Names the entry wherever it travels: a Redis write that timed out is spooled too, and
        # may still have reached Redis; the flush keeps one row per id.
        "u": _entry_ids.next(),
        "t": started.isoformat(),
        "a": credential.account_id,
        "k": credential.kind,
        "c": credential.id,
        # The OAuth grant of a token (null for API keys): usage is counted per grant, since its
        # tokens rotate on every refresh.
        "g": credential.authorization_id,
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
    appends_to = REDIS_LIST  # an entry is one RPUSH onto the list: no ``queue`` of its own

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
    buffer.push(_encode(entry), batch=batch)


# --- flushing ----------------------------------------------------------------------------------
class LogRow(NamedTuple):
    """One request-log row to insert, with RequestLog's attribute names (what rollups read).
    A tuple, not a model instance: building 2,000 instances a batch cost more than inserting."""

    entry_id: str | None  # 32 lowercase hex digits, as entry_for writes it
    occurred_at: datetime
    account_id: int
    credential_kind: str
    credential_id: int
    authorization_id: int | None
    credential_label: str
    method: str
    path: str
    status: int
    ip: str | None
    country: str
    user_agent: str
    duration_ms: int


# The decoder without json.loads' whitespace regexes (a tenth of a flush's time): lines are ours.
_decode = json.JSONDecoder().raw_decode


_new_row = LogRow._make


def _rows(lines: list[str], country_of) -> list[LogRow]:
    rows = []
    for line in lines:
        try:
            entry, _ = _decode(line)
            if not isinstance(entry, dict):
                raise TypeError("not an entry")
            occurred_at = datetime.fromisoformat(entry["t"])
            if occurred_at.tzinfo is None:
                occurred_at = occurred_at.replace(tzinfo=UTC)
            ip = _valid_ip(entry.get("ip"))
            # Positional, in LogRow's field order: keyword arguments cost a tenth of the loop.
            rows.append(
                _new_row(
                    (
                        _entry_id(entry.get("u")),
                        occurred_at,
                        int(entry["a"]),
                        str(entry["k"])[:16],
                        int(entry["c"]),
                        int(entry["g"]) if entry.get("g") is not None else None,
                        _text(entry.get("l"), 200),
                        _text(entry["m"], 10),
                        _text(entry["p"], 500),
                        int(entry["s"]),
                        ip,
                        country_of(ip),
                        _text(entry.get("ua"), 400),
                        max(0, int(entry.get("d") or 0)),
                    )
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.error("request log: dropping a malformed buffer entry")
    return rows


# Kept as the line's text, not a uuid.UUID: building 20,000 of them cost a tenth of a flush, and
# PostgreSQL and Django's UUIDField read 32 hex digits alike.
_HEX_ID = re.compile(r"[0-9a-f]{32}").fullmatch


def _entry_id(value) -> str | None:
    """The entry's id as 32 lowercase hex digits; another spelling of a UUID is normalised,
    anything else raises (the line is dropped rather than refusing the whole batch)."""
    if not value:
        return None
    if isinstance(value, str) and _HEX_ID(value):
        return value
    return uuid.UUID(value).hex


def _text(value, limit: int) -> str:
    # PostgreSQL text cannot hold NUL: one in a path or header would refuse the whole batch.
    return str(value or "").replace("\x00", "")[:limit]


@lru_cache(maxsize=4096)
def _valid_ip(value) -> str | None:
    """The address if it is one (a batch with a bad one would be refused whole), else None."""
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def _insert(lines: list[str], country_of) -> int:
    rows = _rows(lines, country_of)
    with transaction.atomic():
        # The rollups count what this transaction inserted, so a flush that fails counts nothing.
        rollups.record(_insert_new(rows))
    return len(rows)


def _insert_new(rows: list[LogRow]) -> list[LogRow]:
    """Insert ``rows``; returns those really inserted. An entry both spooled and applied by Redis
    (a write that timed out) arrives twice: ON CONFLICT DO NOTHING skips it, and RETURNING (on
    PostgreSQL and SQLite ≥ 3.35 alike) says which entries were new, so rollups count it once."""
    returned = bulksql.upsert(RequestLog, list(LogRow._fields), rows, returning="entry_id")
    new_ids = {_as_hex(value) for value in returned}
    inserted = []
    for row in rows:
        if row.entry_id is None:  # older buffers' rows never conflict: always inserted
            inserted.append(row)
        elif row.entry_id in new_ids:
            new_ids.discard(row.entry_id)  # the same entry twice in one batch was inserted once
            inserted.append(row)
    return inserted


def _as_hex(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return value.hex
    return str(value).replace("-", "").lower()  # SQLite keeps a UUID as 32 hex characters


def flush(*, max_entries: int = 100_000) -> int:
    """Move buffered entries into RequestLog; returns how many rows were written."""
    # Looked up at flush time, off the request path; geoip never raises. Remembered per address
    # for this flush: geoip parses and classifies the address before its own cache, which cost a
    # quarter of a 20,000-row flush when a few hundred addresses made every request.
    countries: dict = {}

    def country_of(ip):
        if ip not in countries:
            countries[ip] = geoip.country_of(ip)
        return countries[ip]

    return buffer.flush(
        lambda lines: _insert(lines, country_of), batch_size=TAKE_BATCH, max_entries=max_entries
    )


def pending_in_buffer() -> int:
    """How many entries wait for the next flush (for tests and operators)."""
    return buffer.pending()
