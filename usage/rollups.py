"""Usage rollups: the request log's rows added up per credential and hour (and per UTC day).

``record(rows)`` is called by the request log's flush (``usage.requestlog``) inside the
transaction that inserted ``rows``, with only the rows that insert really added: an entry that
reaches the database twice is counted once, and a flush that fails counts nothing.

A batch is added up in Python, then written with a few set-based statements per table:

1. the batch's rollup rows are created empty if missing (INSERT … ON CONFLICT DO NOTHING),
2. locked (SELECT … FOR UPDATE; SQLite's one writer is already serialised by the insert),
3. merged in Python — counts added, latency histograms and minute arrays added element-wise,
   the busiest minute recomputed — and written back with one INSERT … ON CONFLICT DO UPDATE.

Merging in Python rather than in the UPDATE keeps one code path for PostgreSQL and SQLite
(element-wise JSON sums have no portable SQL). Concurrent flushers cannot lose a count: the rows
exist before they are read, and stay locked until the flush commits. The hourly row's lock also
serialises the hour's endpoint and client rows, which is what keeps their caps exact.
"""

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from statuspool.api.credentials import CredentialKind
from usage import bulksql
from usage.models import (
    CLIENTS_PER_HOUR,
    ENDPOINTS_PER_HOUR,
    LATENCY_BOUNDS_MS,
    OTHER_PATHS,
    DailyUsage,
    HourlyClient,
    HourlyEndpoint,
    HourlyUsage,
    RequestLog,
    RollupKind,
)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LATENCY_BUCKETS = len(LATENCY_BOUNDS_MS) + 1
COUNT_FIELDS = (
    "requests",
    "ok",
    "client_errors",
    "rate_limited",
    "server_errors",
    "reads",
    "writes",
)


# --- classifying one request -------------------------------------------------------------------
def status_class(status: int) -> str:
    """The rollup count a status adds to. 1xx and 3xx are answers, not failures: "ok". Anything
    that is not an HTTP status (≥ 600, < 100) went wrong on our side: "server_errors"."""
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "client_errors"
    if 100 <= status < 400:
        return "ok"
    return "server_errors"


# The status classes that are failures (every one but "ok").
ERROR_CLASSES = frozenset({"client_errors", "rate_limited", "server_errors"})


def latency_bucket(duration_ms: int) -> int:
    """Index of the LATENCY_BOUNDS_MS bucket holding ``duration_ms`` (bounds are inclusive)."""
    return bisect_left(LATENCY_BOUNDS_MS, max(0, duration_ms))


def rollup_key(row: RequestLog) -> tuple[str, int] | None:
    """(kind, id) a row is counted under: the API key, or the OAuth grant of the token (tokens
    rotate on refresh, the grant is what a person connected). None: nothing to count it under
    (a token row from before entries carried their grant)."""
    if row.credential_kind == CredentialKind.API_KEY:
        return RollupKind.API_KEY, row.credential_id
    if row.credential_kind == CredentialKind.OAUTH_TOKEN:
        if row.authorization_id is None:
            return None
        return RollupKind.OAUTH_AUTHORIZATION, row.authorization_id
    return row.credential_kind, row.credential_id


# The flush classifies every row it inserts: remembered per status and duration (few distinct).
_status_class = lru_cache(maxsize=1024)(status_class)
_latency_bucket = lru_cache(maxsize=8192)(latency_bucket)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return hour_of(moment).replace(hour=0)


# --- adding up a batch -------------------------------------------------------------------------
@dataclass
class _Sums:
    account_id: int
    label: str = ""
    labelled_at: datetime | None = None
    counts: dict = field(default_factory=lambda: dict.fromkeys(COUNT_FIELDS, 0))
    latency: list = field(default_factory=lambda: [0] * LATENCY_BUCKETS)
    minute_reads: list = field(default_factory=lambda: [0] * 60)
    minute_writes: list = field(default_factory=lambda: [0] * 60)

    def add(self, row: RequestLog, minute: int, status_count: str) -> None:
        """Count ``row`` (``minute``: its UTC minute, ``status_count``: its status_class)."""
        counts = self.counts
        counts["requests"] += 1
        counts[status_count] += 1
        if row.method.upper() in READ_METHODS:
            counts["reads"] += 1
            self.minute_reads[minute] += 1
        else:
            counts["writes"] += 1
            self.minute_writes[minute] += 1
        self.latency[_latency_bucket(row.duration_ms or 0)] += 1
        if row.credential_label and (
            self.labelled_at is None or row.occurred_at >= self.labelled_at
        ):
            self.label, self.labelled_at = row.credential_label, row.occurred_at


@dataclass
class _Batch:
    hours: dict = field(default_factory=dict)  # (kind, id, hour) -> _Sums
    # (kind, id, hour) -> {(method, path): [requests, errors]}
    endpoints: dict = field(default_factory=lambda: defaultdict(dict))
    # (kind, id, hour) -> {(ip, country): requests}
    clients: dict = field(default_factory=lambda: defaultdict(dict))

    def add(self, row: RequestLog) -> None:
        credential = rollup_key(row)
        if credential is None:
            return
        # Once per row, and cheaply: this loop runs for every inserted row of a flush.
        moment = row.occurred_at
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        key = (*credential, moment.replace(minute=0, second=0, microsecond=0))
        sums = self.hours.get(key)
        if sums is None:
            sums = self.hours[key] = _Sums(account_id=row.account_id)
        counted_as = _status_class(row.status)
        sums.add(row, moment.minute, counted_as)
        endpoint = self.endpoints[key].setdefault((row.method, row.path), [0, 0])
        endpoint[0] += 1
        if counted_as in ERROR_CLASSES:
            endpoint[1] += 1
        if row.ip:
            clients = self.clients[key]
            client = (str(row.ip), row.country or "")
            clients[client] = clients.get(client, 0) + 1

    def days(self) -> dict:
        """The hours' sums added up per UTC day (the minute arrays are not needed there)."""
        days: dict = {}
        for (kind, ident, hour), sums in self.hours.items():
            key = (kind, ident, hour.replace(hour=0))
            day = days.get(key)
            if day is None:
                day = days[key] = _Sums(account_id=sums.account_id)
            for name, value in sums.counts.items():
                day.counts[name] += value
            day.latency = _add_lists(day.latency, sums.latency)
            if sums.labelled_at and (
                day.labelled_at is None or sums.labelled_at >= day.labelled_at
            ):
                day.label, day.labelled_at = sums.label, sums.labelled_at
        return days


def _add_lists(stored, added) -> list[int]:
    """Element-wise sum; a stored list shorter than ``added`` (an empty default) is padded."""
    stored = list(stored or [])
    if len(stored) < len(added):
        stored += [0] * (len(added) - len(stored))
    return [a + b for a, b in zip(stored, added, strict=False)] + stored[len(added) :]


# --- writing -----------------------------------------------------------------------------------
def record(rows) -> None:
    """Add ``rows`` (inserted once each, in the caller's transaction; RequestLog instances or
    anything with their attributes, e.g. ``requestlog.LogRow``) to the rollups."""
    batch = _Batch()
    for row in rows:
        batch.add(row)
    if not batch.hours:
        return
    hourly = _merge_periods(HourlyUsage, batch.hours)
    peaks: dict = {}  # (kind, id, day) -> [read_peak, write_peak] of the hours just merged
    for (kind, ident, hour), row in hourly.items():
        peak = peaks.setdefault((kind, ident, hour.replace(hour=0)), [0, 0])
        peak[0] = max(peak[0], row.read_peak)
        peak[1] = max(peak[1], row.write_peak)
    _merge_periods(DailyUsage, batch.days(), day_peaks=peaks)
    _merge_details(
        HourlyEndpoint,
        batch.endpoints,
        detail=("method", "path"),
        counts=("requests", "errors"),
        cap=ENDPOINTS_PER_HOUR,
        is_kept=lambda detail: detail != ("", OTHER_PATHS),
        overflow=lambda detail: ("", OTHER_PATHS),
    )
    _merge_details(
        HourlyClient,
        {key: {d: [n] for d, n in clients.items()} for key, clients in batch.clients.items()},
        detail=("ip", "country"),
        counts=("requests",),
        cap=CLIENTS_PER_HOUR,
        is_kept=lambda detail: detail[0] != "",
        overflow=lambda detail: ("", detail[1]),  # the country is kept, the address is not
    )


def _columns(model) -> list[str]:
    """The rollup columns ``_merge_periods`` reads and writes (attribute names)."""
    columns = [
        "account_id", "credential_kind", "credential_id", "credential_label", "start",
        *COUNT_FIELDS, "latency", "read_peak", "write_peak",
    ]  # fmt: skip
    return [*columns, "minute_reads", "minute_writes"] if model is HourlyUsage else columns


def _locked(model, keys) -> dict:
    """The rows of ``keys`` ((kind, id, start) tuples) as dicts, locked until the transaction
    ends (plain values: 2,000 model instances a batch would cost more than the query)."""
    rows = (
        model.objects.select_for_update()
        .filter(
            credential_kind__in={k[0] for k in keys},
            credential_id__in={k[1] for k in keys},
            start__in={k[2] for k in keys},
        )
        .order_by("credential_kind", "credential_id", "start")
        .values("id", *_columns(model))
    )
    return {
        key: row
        for row in rows
        if (key := (row["credential_kind"], row["credential_id"], row["start"])) in keys
    }


def _merge_periods(model, sums_by_key: dict, *, day_peaks: dict | None = None) -> dict:
    """Add ``sums_by_key`` to ``model``'s rows (HourlyUsage or DailyUsage); returns the rows."""
    keys = sorted(sums_by_key)  # one order for every flusher: no lock-order deadlocks
    hourly = model is HourlyUsage
    columns = _columns(model)
    empty = {name: 0 for name in (*COUNT_FIELDS, "read_peak", "write_peak")}
    empty.update(credential_label="", latency=[], minute_reads=[], minute_writes=[])
    bulksql.upsert(
        model,
        columns,
        [
            tuple(
                {
                    **empty,
                    "account_id": sums_by_key[key].account_id,
                    "credential_kind": key[0],
                    "credential_id": key[1],
                    "start": key[2],
                }[name]
                for name in columns
            )
            for key in keys
        ],
    )
    rows = _locked(model, set(keys))
    for key in keys:
        sums, row = sums_by_key[key], rows[key]
        for name, value in sums.counts.items():
            row[name] += value
        row["latency"] = _add_lists(row["latency"], sums.latency)
        if sums.label:
            row["credential_label"] = sums.label
        if hourly:
            row["minute_reads"] = _add_lists(row["minute_reads"], sums.minute_reads)
            row["minute_writes"] = _add_lists(row["minute_writes"], sums.minute_writes)
            row["read_peak"] = max(row["minute_reads"])
            row["write_peak"] = max(row["minute_writes"])
        else:
            read_peak, write_peak = day_peaks[key]
            row["read_peak"] = max(row["read_peak"], read_peak)
            row["write_peak"] = max(row["write_peak"], write_peak)
    # The rows exist and are locked: one INSERT … ON CONFLICT (id) DO UPDATE writes them back.
    changed = [
        c for c in columns if c not in ("account_id", "credential_kind", "credential_id", "start")
    ]
    bulksql.upsert(
        model,
        ["id", *columns],
        [tuple(rows[key][name] for name in ("id", *columns)) for key in keys],
        conflict=("id",),
        replace=tuple(changed),
    )
    return {key: _Peaks(rows[key]["read_peak"], rows[key]["write_peak"]) for key in keys}


@dataclass
class _Peaks:
    read_peak: int
    write_peak: int


def _merge_details(model, added: dict, *, detail, counts, cap, is_kept, overflow) -> None:
    """Add per-hour detail counts (endpoints, clients) to ``model``: the first ``cap`` distinct
    details of a credential-hour keep their own row, the rest go to their ``overflow`` row.
    Runs while the hours' HourlyUsage rows are locked, so the cap holds across flushers."""
    keys = {key for key, details in added.items() if details}
    if not keys:
        return
    existing: dict = defaultdict(dict)  # (kind, id, hour) -> {detail: [counts]}
    for row in model.objects.filter(
        credential_kind__in={k[0] for k in keys},
        credential_id__in={k[1] for k in keys},
        start__in={k[2] for k in keys},
    ).values_list("credential_kind", "credential_id", "start", *detail, *counts):
        key = row[:3]
        if key in keys:
            existing[key][tuple(row[3 : 3 + len(detail)])] = list(row[3 + len(detail) :])
    merged = []
    for key in sorted(keys):
        stored = existing[key]
        kept = sum(1 for d in stored if is_kept(d))
        for item in sorted(added[key], key=lambda d: -added[key][d][0]):  # busiest first
            target = item
            if item not in stored and is_kept(item):
                if kept >= cap:
                    target = overflow(item)
                else:
                    kept += 1
            totals = stored.setdefault(target, [0] * len(counts))
            for index, value in enumerate(added[key][item]):
                totals[index] += value
            merged.append((key, target))
    # The hours are locked, so the merged totals can simply replace the stored ones.
    keyed = ("credential_kind", "credential_id", "start", *detail)
    bulksql.upsert(
        model,
        [*keyed, *counts],
        [(*key, *target, *existing[key][target]) for key, target in dict.fromkeys(merged)],
        conflict=keyed,
        replace=counts,
    )
