"""What the usage charts show, read from the rollups (``usage.rollups``), never from the raw log.

The public interface (the chart pages and the /v2 usage endpoints use only this):

* ``WINDOWS``: "24h" (24 hourly buckets: the current hour and the 23 before it), "7d", "30d",
  "90d" (that many UTC days, today included). Buckets are UTC; every bucket of the window is
  listed, oldest first, zeros included.
* ``credential_usage(kind, ids, window)``: one credential's picture — requests per bucket by
  status class with each bucket's p95, totals, reads/writes, error rate, p50/p95, the top 10
  endpoints and client addresses, how many addresses and which countries. ``kind`` is
  ``"api_key"`` (ids: ``[key.pk]``) or ``"oauth_authorization"`` (ids: grant pks; an OAuth
  application's page passes all of the account's authorizations of that app, added together).
  Five queries, whatever the window and however much traffic.
* ``sparklines(kind, ids, days=7)``: requests per UTC day per id, oldest first; one query.
* ``account_usage(account_id, window)``: every credential of the account with traffic in the
  window, ranked by requests, and per bucket the busiest minute (``MinutePeak``); one query.

Status classes: ``ok`` 1xx–3xx, ``client_errors`` 4xx except 429, ``rate_limited`` 429,
``server_errors`` 5xx (and anything that is not an HTTP status). The error rate counts 4xx (429
included) and 5xx. Latency percentiles come from a fixed histogram
(``usage.models.LATENCY_BOUNDS_MS``) and are reported as the upper bound of the bucket the
percentile falls in (requests slower than the last bound report that bound); None without
requests. Endpoints and client addresses are kept for the first 50 of each credential-hour
(``usage.models``): the top lists and ``distinct_clients`` only know those, while totals and
``countries`` count every request.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from statuspool import countries
from usage.models import (
    LATENCY_BOUNDS_MS,
    OTHER_PATHS,
    DailyUsage,
    HourlyClient,
    HourlyEndpoint,
    HourlyUsage,
)
from usage.rollups import LATENCY_BUCKETS, day_of, hour_of

TOP = 10


@dataclass(frozen=True)
class Window:
    name: str  # "24h", "7d", "30d", "90d"
    span: timedelta
    bucket: str  # "hour" (24h) or "day"
    label: str  # "Last 24 hours"

    @property
    def step(self) -> timedelta:
        return timedelta(hours=1) if self.bucket == "hour" else timedelta(days=1)

    def starts(self, now: datetime) -> list[datetime]:
        """Every bucket's start, oldest first; the last one holds ``now``."""
        last = hour_of(now) if self.bucket == "hour" else day_of(now)
        count = int(self.span / self.step)
        return [last - self.step * (count - 1 - n) for n in range(count)]


WINDOWS: dict[str, Window] = {
    "24h": Window("24h", timedelta(hours=24), "hour", "Last 24 hours"),
    "7d": Window("7d", timedelta(days=7), "day", "Last 7 days"),
    "30d": Window("30d", timedelta(days=30), "day", "Last 30 days"),
    "90d": Window("90d", timedelta(days=90), "day", "Last 90 days"),
}


def window_named(name: str) -> Window:
    """The window called ``name``; ValueError naming the allowed ones otherwise."""
    try:
        return WINDOWS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown window {name!r}: use one of {', '.join(WINDOWS)}.") from None


@dataclass
class Bucket:
    start: datetime  # aware, UTC
    ok: int = 0
    client_errors: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    p95_ms: int | None = None

    @property
    def total(self) -> int:
        return self.ok + self.client_errors + self.rate_limited + self.server_errors


@dataclass
class Endpoint:
    method: str
    path: str
    requests: int
    errors: int


@dataclass
class Client:
    ip: str
    country: str  # ISO 3166-1 alpha-2, or "" when unknown
    country_name: str
    requests: int


@dataclass
class CredentialUsage:
    window: Window
    buckets: list[Bucket]
    total: int = 0
    ok: int = 0
    client_errors: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    reads: int = 0
    writes: int = 0
    error_rate: float = 0.0
    p50_ms: int | None = None
    p95_ms: int | None = None
    top_endpoints: list[Endpoint] = field(default_factory=list)
    top_clients: list[Client] = field(default_factory=list)
    distinct_clients: int = 0
    countries: list[str] = field(default_factory=list)  # ISO codes, sorted


@dataclass
class CredentialRow:
    kind: str
    id: int
    label: str  # the newest label the rollups saw (kept after the credential is deleted)
    total: int
    error_rate: float
    rate_limited: int
    server_errors: int
    p95_ms: int | None


@dataclass
class MinutePeak:
    """The busiest minute in one bucket: the highest requests-per-minute of a single credential
    (plan limits are per credential), reads and writes separately. The two may come from
    different credentials or minutes."""

    start: datetime
    read_peak: int = 0
    write_peak: int = 0


@dataclass
class AccountUsage:
    window: Window
    rows: list[CredentialRow]  # ranked by total, busiest first
    peaks: list[MinutePeak]  # one per bucket of the window, oldest first
    total: int = 0
    error_rate: float = 0.0
    rate_limited: int = 0


# --- reading ------------------------------------------------------------------------------------
CLASSES = ("ok", "client_errors", "rate_limited", "server_errors")


def _rollups(window: Window):
    return HourlyUsage if window.bucket == "hour" else DailyUsage


def _now(now) -> datetime:
    return (now or timezone.now()).astimezone(UTC)


def credential_usage(
    kind: str, ids: Iterable[int], window: str = "24h", *, now=None
) -> CredentialUsage:
    window = window_named(window)
    ids = list(ids)
    starts = window.starts(_now(now))
    since, until = starts[0], starts[-1] + window.step
    of_credentials = Q(
        credential_kind=kind, credential_id__in=ids, start__gte=since, start__lt=until
    )
    usage = CredentialUsage(window=window, buckets=[Bucket(start=s) for s in starts])
    if not ids:
        return usage

    by_start = {bucket.start: bucket for bucket in usage.buckets}
    histograms: dict[datetime, list[int]] = defaultdict(lambda: [0] * LATENCY_BUCKETS)
    rows = (
        _rollups(window)
        .objects.filter(of_credentials)
        .values_list("start", *CLASSES, "reads", "writes", "latency")
    )
    for start, ok, client_errors, rate_limited, server_errors, reads, writes, latency in rows:
        bucket = by_start.get(start.astimezone(UTC))
        if bucket is None:
            continue
        bucket.ok += ok
        bucket.client_errors += client_errors
        bucket.rate_limited += rate_limited
        bucket.server_errors += server_errors
        usage.reads += reads
        usage.writes += writes
        _add_into(histograms[bucket.start], latency)
    window_histogram = [0] * LATENCY_BUCKETS
    for bucket in usage.buckets:
        if bucket.start in histograms:
            bucket.p95_ms = percentile(histograms[bucket.start], 95)
            _add_into(window_histogram, histograms[bucket.start])
        for name in CLASSES:
            setattr(usage, name, getattr(usage, name) + getattr(bucket, name))
    usage.total = sum(bucket.total for bucket in usage.buckets)
    usage.error_rate = _error_rate(usage.total, usage.ok)
    usage.p50_ms = percentile(window_histogram, 50)
    usage.p95_ms = percentile(window_histogram, 95)

    # Endpoints and clients are kept per hour only: the day windows add up their hours.
    of_hours = of_credentials
    usage.top_endpoints = [
        Endpoint(method=method, path=path, requests=requests, errors=errors)
        for method, path, requests, errors in HourlyEndpoint.objects.filter(of_hours)
        .exclude(method="", path=OTHER_PATHS)
        .values("method", "path")
        .annotate(n=Sum("requests"), e=Sum("errors"))
        .order_by("-n", "method", "path")
        .values_list("method", "path", "n", "e")[:TOP]
    ]
    clients = HourlyClient.objects.filter(of_hours)
    usage.top_clients = [
        Client(ip=ip, country=country, country_name=_country_name(country), requests=requests)
        for ip, country, requests in clients.exclude(ip="")
        .values("ip")
        .annotate(n=Sum("requests"), c=Max("country"))
        .order_by("-n", "ip")
        .values_list("ip", "c", "n")[:TOP]
    ]
    usage.distinct_clients = clients.exclude(ip="").aggregate(n=Count("ip", distinct=True))["n"]
    usage.countries = sorted(
        clients.exclude(country="").values_list("country", flat=True).distinct()
    )
    return usage


def sparklines(kind: str, ids: Iterable[int], *, days: int = 7, now=None) -> dict[int, list[int]]:
    ids = list(ids)
    today = day_of(_now(now))
    starts = [today - timedelta(days=days - 1 - n) for n in range(days)]
    index = {start: n for n, start in enumerate(starts)}
    lines = {ident: [0] * days for ident in ids}
    if not ids or days <= 0:
        return lines
    rows = DailyUsage.objects.filter(
        credential_kind=kind, credential_id__in=ids, start__gte=starts[0]
    ).values_list("credential_id", "start", "requests")
    for ident, start, requests in rows:
        position = index.get(start.astimezone(UTC))
        if position is not None and ident in lines:
            lines[ident][position] += requests
    return lines


def account_usage(account_id: int, window: str = "24h", *, now=None) -> AccountUsage:
    window = window_named(window)
    starts = window.starts(_now(now))
    since, until = starts[0], starts[-1] + window.step
    peaks = {start: MinutePeak(start=start) for start in starts}
    credentials: dict[tuple[str, int], dict] = {}
    rows = (
        _rollups(window)
        .objects.filter(account_id=account_id, start__gte=since, start__lt=until)
        .order_by("start")  # so the newest label wins
        .values_list(
            "credential_kind",
            "credential_id",
            "credential_label",
            "start",
            "requests",
            "ok",
            "rate_limited",
            "server_errors",
            "latency",
            "read_peak",
            "write_peak",
        )
    )
    for kind, ident, label, start, requests, ok, limited, failed, latency, reads, writes in rows:
        peak = peaks.get(start.astimezone(UTC))
        if peak is None:
            continue
        peak.read_peak = max(peak.read_peak, reads)
        peak.write_peak = max(peak.write_peak, writes)
        sums = credentials.setdefault(
            (kind, ident),
            {"label": "", "total": 0, "ok": 0, "limited": 0, "failed": 0, "latency": []},
        )
        sums["label"] = label or sums["label"]
        sums["total"] += requests
        sums["ok"] += ok
        sums["limited"] += limited
        sums["failed"] += failed
        sums["latency"] = _add_into(sums["latency"] or [0] * LATENCY_BUCKETS, latency)

    ranked = sorted(
        (
            CredentialRow(
                kind=kind,
                id=ident,
                label=sums["label"],
                total=sums["total"],
                error_rate=_error_rate(sums["total"], sums["ok"]),
                rate_limited=sums["limited"],
                server_errors=sums["failed"],
                p95_ms=percentile(sums["latency"], 95),
            )
            for (kind, ident), sums in credentials.items()
        ),
        key=lambda row: (-row.total, row.label, row.kind, row.id),
    )
    total = sum(row.total for row in ranked)
    ok = sum(sums["ok"] for sums in credentials.values())
    return AccountUsage(
        window=window,
        rows=ranked,
        peaks=list(peaks.values()),
        total=total,
        error_rate=_error_rate(total, ok),
        rate_limited=sum(row.rate_limited for row in ranked),
    )


# --- arithmetic ---------------------------------------------------------------------------------
def percentile(histogram: list[int], percent: int) -> int | None:
    """The upper bound (ms) of the bucket holding the ``percent``-th percentile (nearest rank)."""
    count = sum(histogram or ())
    if not count:
        return None
    rank = -(-percent * count // 100)  # ceil without floats
    seen = 0
    for index, n in enumerate(histogram):
        seen += n
        if seen >= rank:
            return LATENCY_BOUNDS_MS[min(index, len(LATENCY_BOUNDS_MS) - 1)]
    return LATENCY_BOUNDS_MS[-1]


def _add_into(total: list[int], added) -> list[int]:
    for index, n in enumerate((added or [])[: len(total)]):
        total[index] += n
    return total


def _error_rate(total: int, ok: int) -> float:
    return (total - ok) / total if total else 0.0


def _country_name(code: str) -> str:
    return countries.name_of(code) if code else ""
