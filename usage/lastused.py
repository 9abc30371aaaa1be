"""Last-used tracking and Usage Alerts, kept off the request's database path.

On a /v2 request made with a credential (``api_request_finished``) one MULTI to the shared cache
(sent in the same round trip as the request log's entry, see ``sharedcache.RedisBatch``) records,
for that credential: the time, address and country of the request (last value wins), of its
first request since the last flush (first value wins), each country seen with the time and address
of its first request since the last flush, and that it has something to flush. Nothing touches the database. A process writes one
(credential, address) pair at most every few seconds; a new address is written at once.

Every 30 s the beat task ``flush_usage`` takes the pending set atomically (so each record is
flushed once, whatever the number of workers) and hands each credential kind's records to the
writer it registered (``usage.writers``): API keys write their last-used columns, add new
countries to ``ApiKey.seen_countries`` and queue the Usage Alerts of keys that have them on; OAuth
writes the grant's last-used time. Detection itself relies on atomic cache
operations, and each email carries an outbox ``dedup_key``, so an alert is sent exactly once:

* first request ever: the key had no ``last_used_at`` when its first record is flushed;
* rate limit: the request whose counter first exceeds 80 % of a window (the INCR that returns that
  number happens once per window, in one process), and at most one such alert per key and hour
  (``SET NX EX 3600``);
* new geolocation: a country not in ``seen_countries``; private, loopback, reserved and unknown
  addresses have no country and never alert.

The records go through ``usage.buffer.Buffer``, the one buffer of what requests leave behind
(the request log's too): Redis through the shared cache's client, in the request's batch; while
Redis is unreachable (the circuit breaker is open, or the request's batch failed) or the cache is
not Redis (the embedded mode), a spool file under VAR_DIR/usage-spool; and the flush merges the
spooled records with Redis's: a new country seen during the outage still alerts, once, after it.
What is particular to last used is only its codec, ``_Hashes`` (entries merged per credential).
"""

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache, caches

from statuspool.api.credentials import Credential
from statuspool.api.throttling import state_of
from statuspool.geoip import country_of
from statuspool.sharedcache import RedisBatch, guard, redis_of
from usage.buffer import Buffer
from usage.writers import writers

logger = logging.getLogger(__name__)

RATE_ALERT_FRACTION = 0.8
RATE_ALERT_EVERY_SECONDS = 3600
BUFFER_TTL_SECONDS = 24 * 3600  # a record nobody flushed for a day is dropped, not kept forever


class FirstSeen(NamedTuple):
    """When and from where a credential's first request from one country came (in one flush)."""

    at: float
    ip: str

    def encode(self) -> str:
        return f"{self.at:.3f} {self.ip}"

    @classmethod
    def decode(cls, value, *, default_at: float) -> "FirstSeen":
        text = value.decode() if isinstance(value, bytes) else str(value or "")
        at, _, ip = text.partition(" ")
        try:
            return cls(float(at), ip)
        except ValueError:
            return cls(default_at, "")


@dataclass
class UsageRecord:
    member: str  # "key:<id>" or "oauth:<authorization id>"
    at: float = 0.0
    ip: str = ""
    country: str = ""
    first_at: float = 0.0
    first_ip: str = ""
    first_country: str = ""
    # Country → its first request. The new-country email gives that request's time and address
    # (``at``/``ip`` are the latest request's, possibly from another country), and the countries
    # first seen before it in the same flush are "seen before" it.
    countries: dict[str, FirstSeen] = field(default_factory=dict)
    rate_window: int = 0  # end of the window whose 80 % crossing is to be alerted
    rate_limit: int = 0
    rate_resource: str = ""

    @classmethod
    def from_hash(cls, member: str, values: dict, countries) -> "UsageRecord":
        """``countries``: country → encoded FirstSeen, or (a record buffered before first-seen
        times were kept) a set of countries, which get the record's first time."""
        # Redis answers bytes keys and values; a spool line str.
        values = {(k.decode() if isinstance(k, bytes) else k): v for k, v in values.items()}

        def text(name):
            value = values.get(name, "")
            return value.decode() if isinstance(value, bytes) else str(value)

        def number(name, kind):
            try:
                return kind(text(name) or 0)
            except ValueError:
                return kind(0)

        first_at = number("first_at", float)
        if not isinstance(countries, dict):
            countries = dict.fromkeys(countries or (), "")
        seen = {}
        for country, first in countries.items():
            country = country.decode() if isinstance(country, bytes) else country
            seen[country] = FirstSeen.decode(first, default_at=first_at)
        return cls(
            member=member,
            at=number("at", float),
            ip=text("ip"),
            country=text("country"),
            first_at=first_at,
            first_ip=text("first_ip"),
            first_country=text("first_country"),
            countries=seen,
            rate_window=number("rate_window", int),
            rate_limit=number("rate_limit", int),
            rate_resource=text("rate_resource"),
        )

    def as_values(self) -> dict[str, str]:
        values = {
            "at": f"{self.at:.3f}",
            "ip": self.ip,
            "country": self.country,
            "first_at": f"{self.first_at:.3f}",
            "first_ip": self.first_ip,
            "first_country": self.first_country,
        }
        if self.rate_window:
            values.update(
                rate_window=str(self.rate_window),
                rate_limit=str(self.rate_limit),
                rate_resource=self.rate_resource,
            )
        return values


def rate_alert_threshold(limit: int) -> int:
    """The count whose request is the first one above 80 % of ``limit``."""
    return int(limit * RATE_ALERT_FRACTION) + 1


class _Hashes:
    """The last-used codec for ``usage.buffer``: a pushed entry is ``(member, values, country)``;
    Redis merges the entries of one member as they arrive (a hash: last values win, ``first_*``
    set once; a hash of countries, each set once to its first request's time and address; a
    ``pending`` set of members), so a flush writes one record per credential however many
    requests it made. Taken entries are ``UsageRecord``s."""

    atomic = True  # a flush must never take half a record
    appends_to = None

    def _key(self, name: str) -> str:
        redis = redis_of(caches["default"])  # the shared client's key format (prefix, version)
        return redis.make_key(f"usage:{name}")

    def queue(self, pipe, item: tuple[str, dict, str]) -> None:
        member, values, country = item
        last = self._key(f"last:{member}")
        pipe.hset(last, mapping=values)
        pipe.hsetnx(last, "first_at", values["at"])
        pipe.hsetnx(last, "first_ip", values["ip"])
        pipe.hsetnx(last, "first_country", country)
        pipe.expire(last, BUFFER_TTL_SECONDS)
        if country:
            seen = self._key(f"seen:{member}")
            pipe.hsetnx(seen, country, FirstSeen(float(values["at"]), values["ip"]).encode())
            pipe.expire(seen, BUFFER_TTL_SECONDS)
        pipe.sadd(self._key("pending"), member)

    def take(self, client, limit: int) -> list[UsageRecord]:
        """Every pending member (``limit`` does not apply: one record per credential)."""
        taken = self._key(f"draining:{uuid.uuid4().hex}")
        try:
            client.rename(self._key("pending"), taken)  # atomic: later requests start a new set
        except Exception as exc:
            if "no such key" in str(exc).lower():
                return []
            raise
        members = sorted(m.decode() for m in client.smembers(taken))
        pipe = client.pipeline(transaction=True)
        for member in members:
            pipe.hgetall(self._key(f"last:{member}"))
            pipe.hgetall(self._key(f"seen:{member}"))
            # The set of countries that records buffered before first-seen times were kept have
            # (a deploy in the middle of a flush interval must not lose a new-country alert).
            pipe.smembers(self._key(f"countries:{member}"))
            pipe.delete(
                self._key(f"last:{member}"),
                self._key(f"seen:{member}"),
                self._key(f"countries:{member}"),
            )
        pipe.delete(taken)
        results = pipe.execute()
        records = []
        for i, member in enumerate(members):
            values, seen, legacy = results[4 * i : 4 * i + 3]
            if values:
                countries = {**dict.fromkeys(legacy, ""), **seen}
                records.append(UsageRecord.from_hash(member, values, countries))
        return records

    def give_back(self, client, records: list[UsageRecord]) -> None:
        """Put back records a failed flush took, without overwriting newer values."""
        pipe = client.pipeline(transaction=True)
        for record in records:
            last = self._key(f"last:{record.member}")
            for name, value in record.as_values().items():
                if name.startswith("first_"):
                    pipe.hset(last, name, value)  # the restored one is the older request
                else:
                    pipe.hsetnx(last, name, value)
            pipe.expire(last, BUFFER_TTL_SECONDS)
            if record.countries:
                # The restored ones are the older requests, like first_* above.
                seen = {country: first.encode() for country, first in record.countries.items()}
                pipe.hset(self._key(f"seen:{record.member}"), mapping=seen)
                pipe.expire(self._key(f"seen:{record.member}"), BUFFER_TTL_SECONDS)
            pipe.sadd(self._key("pending"), record.member)
        pipe.execute()

    def count(self, client) -> int:
        return client.scard(self._key("pending"))

    def encode(self, item: tuple[str, dict, str]) -> str:
        member, values, country = item
        return json.dumps({"member": member, "values": values, "country": country})

    def decode(self, line: str) -> UsageRecord | None:
        try:
            item = json.loads(line)
            values = {**item["values"]}
            for name in ("at", "ip", "country"):
                values[f"first_{name}"] = values[name]
            first = FirstSeen(float(values["at"]), values["ip"]).encode()
            countries = {item["country"]: first} if item.get("country") else {}
            return UsageRecord.from_hash(item["member"], values, countries)
        except (ValueError, KeyError, TypeError):
            logger.error("usage spool: dropping a malformed record")
            return None


def spool_dir() -> Path:
    return Path(settings.VAR_DIR) / "usage-spool"


buffer = Buffer(codec=_Hashes(), folder=spool_dir, during="usage tracking")


def claim_rate_alert(member: str) -> bool:
    """True for the one request per key and hour that may alert about its rate (SET NX EX)."""
    return cache.add(f"usage:rate-alerted:{member}", 1, RATE_ALERT_EVERY_SECONDS)


def member_of(credential: Credential) -> str | None:
    """The buffer's name for the row this credential's usage belongs to (``key:12``)."""
    writer = writers().get(credential.kind)
    if writer is None:
        return None
    ident = writer.member_id(credential)
    return f"{writer.prefix}:{ident}" if ident else None


class _RecentlyRecorded:
    """(credential, address) pairs this process buffered in the last few seconds.

    A busy integration makes many requests a second from one address; writing each one to the
    cache would only move "last used" by milliseconds (the flush runs every 30 s anyway). So a pair
    is written at most once per ``API_USAGE_RECORD_EVERY_SECONDS``; a new address (hence a
    possibly new country) and an 80 % crossing are always written at once.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._at: dict[tuple[str, str], float] = {}

    def due(self, member: str, ip: str) -> bool:
        every = settings.API_USAGE_RECORD_EVERY_SECONDS
        now = time.monotonic()
        with self._lock:
            if now - self._at.get((member, ip), -every) < every:
                return False
            if len(self._at) > 10_000:
                self._at = {k: v for k, v in self._at.items() if now - v < every}
            self._at[(member, ip)] = now
            return True

    def clear(self) -> None:
        with self._lock:
            self._at.clear()


recently_recorded = _RecentlyRecorded()


def _rate_crossing(credential: Credential, request) -> dict | None:
    """The alert fields when this request is the one that first exceeded 80 % of its window."""
    state = state_of(request)
    writer = writers().get(credential.kind)
    if (
        writer is not None
        and writer.wants_rate_alerts(credential)
        and state is not None
        and state.shared
        and state.count == rate_alert_threshold(state.limit)
    ):
        return {
            "rate_window": str(state.reset),
            "rate_limit": str(state.limit),
            "rate_resource": state.resource,
        }
    return None


def usage_record_request(
    *, credential: Credential, request, ip: str | None, batch: RedisBatch | None = None
) -> None:
    """Buffer one request's usage (in ``batch`` when there is one, on disk while Redis is
    unreachable); never raises, never touches the database."""
    member = member_of(credential)
    if member is None:
        return
    crossing = _rate_crossing(credential, request) if guard.available() else None
    if crossing is None and not recently_recorded.due(member, ip or ""):
        return
    country = country_of(ip)
    # Milliseconds, truncated: a last-used time must never lie in the future.
    values = {"at": f"{int(time.time() * 1000) / 1000:.3f}", "ip": ip or "", "country": country}
    if crossing is not None:
        try:
            if claim_rate_alert(member):
                values.update(crossing)
        except Exception as exc:  # the request is served whatever happens to its bookkeeping
            guard.failed(exc, "usage tracking")
    buffer.push((member, values, country), batch=batch)


def merge(records: list[UsageRecord]) -> list[UsageRecord]:
    """One record per member: first values from the earliest, last from the latest, all
    countries, each with its earliest request (records of one member from Redis and from spool
    files)."""
    merged: dict[str, UsageRecord] = {}
    for record in sorted(records, key=lambda r: r.first_at or r.at):
        into = merged.get(record.member)
        if into is None:
            merged[record.member] = record
            continue
        for country, first in record.countries.items():
            known = into.countries.get(country)
            if known is None or first.at < known.at:
                into.countries[country] = first
        if record.at >= into.at:
            into.at, into.ip, into.country = record.at, record.ip, record.country
        if record.rate_window and not into.rate_window:
            into.rate_window = record.rate_window
            into.rate_limit, into.rate_resource = record.rate_limit, record.rate_resource
    return list(merged.values())


def on_api_request_finished(sender, credential, request, ip=None, redis_batch=None, **kwargs):
    """Receiver of statuspool.api.signals.api_request_finished (connected in UsageConfig)."""
    usage_record_request(credential=credential, request=request, ip=ip, batch=redis_batch)
