"""usage.insight: the charts' numbers, from the rollups, equal to what the raw rows say."""

from datetime import UTC, datetime, timedelta

import pytest

from usage import insight, requestlog
from usage.models import LATENCY_BOUNDS_MS, RequestLog, RollupKind
from usage.rollups import latency_bucket

from .conftest import bearer
from .test_rollups import entry, push

NOW = datetime(2026, 11, 30, 15, 20, tzinfo=UTC)
THIS_HOUR = NOW.replace(minute=0)


def exact_percentile(values: list[int], percent: int) -> int:
    values = sorted(values)
    return values[-(-percent * len(values) // 100) - 1]


def reported(ms: int) -> int:
    """What a percentile of ``ms`` is reported as: its histogram bucket's upper bound."""
    return LATENCY_BOUNDS_MS[min(latency_bucket(ms), len(LATENCY_BOUNDS_MS) - 1)]


@pytest.mark.parametrize(
    "name, count, step",
    [("24h", 24, timedelta(hours=1)), ("7d", 7, timedelta(days=1)), ("90d", 90, timedelta(days=1))],
)
def test_every_bucket_of_the_window_is_listed_oldest_first_zeros_included(
    account_a, make_key, name, count, step
):
    key, _ = make_key(account_a)
    push(entry(key, at=NOW - timedelta(minutes=5)), entry(key, at=NOW - timedelta(days=3)))
    requestlog.flush()
    usage = insight.credential_usage("api_key", [key.pk], name, now=NOW)
    starts = [bucket.start for bucket in usage.buckets]
    assert len(starts) == count
    assert all(later - earlier == step for earlier, later in zip(starts, starts[1:], strict=False))
    assert starts[-1] <= NOW < starts[-1] + step and starts[0].tzinfo is not None
    assert usage.window is insight.WINDOWS[name]
    assert usage.buckets[-1].total == 1 and usage.buckets[-1].p95_ms == reported(12)
    expected_total = 1 if name == "24h" else 2
    assert usage.total == expected_total == sum(bucket.total for bucket in usage.buckets)
    empty = [bucket for bucket in usage.buckets if bucket.total == 0]
    assert len(empty) == count - expected_total
    assert all(bucket.p95_ms is None for bucket in empty)


def test_a_credentials_picture_equals_its_rows(account_a, make_key, monkeypatch):
    import statuspool.geoip

    monkeypatch.setattr(
        statuspool.geoip,
        "country_of",
        lambda ip: {"81.2.69.142": "GB", "2.16.1.1": "DE"}.get(ip, ""),
    )
    key, _ = make_key(account_a)
    other, _ = make_key(account_a, name="other")
    made = []
    for n in range(60):
        made.append(
            entry(
                key,
                at=THIS_HOUR - timedelta(hours=n % 5, minutes=n % 7),
                method="GET" if n % 3 else "POST",
                path=f"/v2/monitors/{n % 12}",
                status=[200, 200, 201, 404, 429, 503][n % 6],
                ms=n * 13,
                ip=["81.2.69.142", "2.16.1.1", "192.0.2.9"][n % 3],
            )
        )
    push(*made, entry(other, at=NOW), entry(key, at=NOW - timedelta(hours=30)))  # not counted
    requestlog.flush()

    usage = insight.credential_usage("api_key", [key.pk], "24h", now=NOW)
    rows = RequestLog.objects.filter(
        credential_id=key.pk, occurred_at__gte=NOW.replace(minute=0) - timedelta(hours=23)
    )
    assert usage.total == rows.count() == 60
    assert usage.ok == rows.filter(status__lt=400).count() == 30
    assert usage.client_errors == rows.filter(status=404).count() == 10
    assert usage.rate_limited == 10 and usage.server_errors == 10
    assert (usage.reads, usage.writes) == (40, 20)
    assert usage.error_rate == pytest.approx(0.5)
    durations = list(rows.values_list("duration_ms", flat=True))
    assert usage.p50_ms == reported(exact_percentile(durations, 50))
    assert usage.p95_ms == reported(exact_percentile(durations, 95))
    for bucket in usage.buckets:
        in_bucket = rows.filter(
            occurred_at__gte=bucket.start, occurred_at__lt=bucket.start + timedelta(hours=1)
        )
        assert bucket.total == in_bucket.count()
        if bucket.total:
            ms = list(in_bucket.values_list("duration_ms", flat=True))
            assert bucket.p95_ms == reported(exact_percentile(ms, 95))

    assert len(usage.top_endpoints) == 10
    top = usage.top_endpoints[0]
    assert (top.method, top.path, top.requests) == ("GET", "/v2/monitors/1", 5)
    assert top.errors == rows.filter(path=top.path).exclude(status__lt=400).count()
    assert [e.requests for e in usage.top_endpoints] == sorted(
        (e.requests for e in usage.top_endpoints), reverse=True
    )
    clients = {c.ip: (c.country, c.country_name, c.requests) for c in usage.top_clients}
    assert clients == {
        "81.2.69.142": ("GB", "United Kingdom", 20),
        "2.16.1.1": ("DE", "Germany", 20),
        "192.0.2.9": ("", "", 20),
    }
    assert usage.distinct_clients == 3
    assert usage.countries == ["DE", "GB"]


def test_an_oauth_applications_authorizations_are_added_together(account_a):
    class Grant:
        account_id = account_a.pk
        display_id = "PagerDuty Sync"

        def __init__(self, pk):
            self.pk = pk

    made = []
    for grant, count in ((Grant(501), 3), (Grant(502), 4), (Grant(503), 5)):
        for _ in range(count):
            item = entry(grant, at=NOW)
            item.update(k="oauth_token", c=9000 + grant.pk, g=grant.pk)
            made.append(item)
    push(*made)
    requestlog.flush()
    usage = insight.credential_usage(RollupKind.OAUTH_AUTHORIZATION, [501, 502], "7d", now=NOW)
    assert usage.total == 7 and usage.buckets[-1].ok == 7
    assert usage.top_endpoints[0].requests == 7


def test_a_real_request_shows_in_its_keys_picture(client, account_a, make_key):
    key, raw = make_key(account_a)
    assert client.get("/v2/monitors", **bearer(raw)).status_code == 200
    requestlog.flush()
    usage = insight.credential_usage("api_key", [key.pk])
    assert usage.total == usage.ok == 1 and usage.buckets[-1].total == 1
    assert usage.top_endpoints[0].path == "/v2/monitors"
    assert usage.top_clients[0].ip == "127.0.0.1"


def test_an_unknown_window_is_refused():
    with pytest.raises(ValueError, match="24h, 7d, 30d, 90d"):
        insight.credential_usage("api_key", [1], "1y")
    with pytest.raises(ValueError):
        insight.account_usage(1, "week")


@pytest.mark.parametrize("window", ["24h", "90d"])
@pytest.mark.parametrize("traffic", [1, 300])
def test_credential_usage_runs_five_queries_whatever_the_window_and_data(
    account_a, make_key, django_assert_num_queries, window, traffic
):
    key, _ = make_key(account_a)
    push(
        *[
            entry(
                key, at=NOW - timedelta(hours=n % 60), path=f"/v2/p/{n}", ip=f"198.51.100.{n % 200}"
            )
            for n in range(traffic)
        ]
    )
    requestlog.flush()
    with django_assert_num_queries(5):
        usage = insight.credential_usage("api_key", [key.pk], window, now=NOW)
    assert usage.total > 0


def test_sparklines_are_one_query_for_every_key(account_a, make_key, django_assert_num_queries):
    keys = [make_key(account_a, name=f"k{n}")[0] for n in range(3)]
    push(
        *[entry(keys[0], at=NOW - timedelta(days=d)) for d in (0, 0, 2, 6, 7)],
        entry(keys[1], at=NOW - timedelta(days=1)),
    )
    requestlog.flush()
    with django_assert_num_queries(1):
        lines = insight.sparklines("api_key", [k.pk for k in keys], now=NOW)
    assert lines == {
        keys[0].pk: [1, 0, 0, 0, 1, 0, 2],  # 7 days ago is outside the last 7 days
        keys[1].pk: [0, 0, 0, 0, 0, 1, 0],
        keys[2].pk: [0] * 7,
    }
    assert insight.sparklines("api_key", [keys[0].pk], days=8, now=NOW)[keys[0].pk][0] == 1


def test_account_usage_ranks_credentials_and_gives_the_busiest_minute_per_bucket(
    account_a, account_b, make_key, django_assert_num_queries
):
    busy, _ = make_key(account_a, name="busy")
    quiet, _ = make_key(account_a, name="quiet")
    elsewhere, _ = make_key(account_b, name="other account")
    hour = THIS_HOUR - timedelta(hours=2)
    push(
        # busy: 12 reads in one minute, 3 more in another; 4 writes (2 of them 429) in a third
        *[entry(busy, at=hour + timedelta(minutes=10, seconds=s)) for s in range(12)],
        *[entry(busy, at=hour + timedelta(minutes=11)) for _ in range(3)],
        *[entry(busy, at=hour + timedelta(minutes=30), method="POST") for _ in range(2)],
        *[
            entry(busy, at=hour + timedelta(minutes=30), method="POST", status=429)
            for _ in range(2)
        ],
        # quiet: 5 writes in one minute of the same hour (busier for writes than busy's 4)
        *[
            entry(quiet, at=hour + timedelta(minutes=10), method="PUT", status=500)
            for _ in range(5)
        ],
        *[entry(elsewhere, at=hour + timedelta(minutes=10)) for _ in range(50)],
    )
    requestlog.flush()
    busy_id, busy_label = busy.pk, busy.display_id
    busy.delete()  # its numbers, and its name, stay in the rollups

    with django_assert_num_queries(1):
        usage = insight.account_usage(account_a.pk, "24h", now=NOW)
    assert [(r.label, r.total) for r in usage.rows] == [
        (busy_label, 19),
        (quiet.display_id, 5),
    ]
    first = usage.rows[0]
    assert (first.kind, first.id, first.rate_limited, first.server_errors) == (
        "api_key",
        busy_id,
        2,
        0,
    )
    assert first.error_rate == pytest.approx(2 / 19) and first.p95_ms == reported(12)
    assert usage.rows[1].error_rate == 1.0 and usage.rows[1].server_errors == 5
    assert (usage.total, usage.rate_limited) == (24, 2)
    assert usage.error_rate == pytest.approx(7 / 24)
    assert len(usage.peaks) == 24
    peak = next(p for p in usage.peaks if p.start == hour)
    assert (peak.read_peak, peak.write_peak) == (12, 5)
    assert all((p.read_peak, p.write_peak) == (0, 0) for p in usage.peaks if p.start != hour)

    week = insight.account_usage(account_a.pk, "7d", now=NOW)
    assert len(week.peaks) == 7 and (week.peaks[-1].read_peak, week.peaks[-1].write_peak) == (12, 5)
    assert [r.total for r in week.rows] == [19, 5]
    assert insight.account_usage(account_a.pk, "24h", now=NOW + timedelta(days=2)).rows == []


def test_window_labels():
    assert {name: w.label for name, w in insight.WINDOWS.items()} == {
        "24h": "Last 24 hours",
        "7d": "Last 7 days",
        "30d": "Last 30 days",
        "90d": "Last 90 days",
    }
    assert [w.bucket for w in insight.WINDOWS.values()] == ["hour", "day", "day", "day"]


def test_the_interface_the_chart_pages_import():
    """The chart pages build on exactly these names (issue 13): a rename here breaks them."""
    import inspect
    from dataclasses import fields

    def names(cls):
        return [f.name for f in fields(cls)]

    assert names(insight.Window) == ["name", "span", "bucket", "label"]
    assert names(insight.Bucket) == [
        "start", "ok", "client_errors", "rate_limited", "server_errors", "p95_ms",
    ]  # fmt: skip
    assert (
        insight.Bucket(start=NOW, ok=1, client_errors=2, rate_limited=3, server_errors=4).total
        == 10
    )
    assert names(insight.Endpoint) == ["method", "path", "requests", "errors"]
    assert names(insight.Client) == ["ip", "country", "country_name", "requests"]
    assert names(insight.CredentialUsage) == [
        "window", "buckets", "total", "ok", "client_errors", "rate_limited", "server_errors",
        "reads", "writes", "error_rate", "p50_ms", "p95_ms", "top_endpoints", "top_clients",
        "distinct_clients", "countries",
    ]  # fmt: skip
    assert names(insight.CredentialRow) == [
        "kind", "id", "label", "total", "error_rate", "rate_limited", "server_errors", "p95_ms",
    ]  # fmt: skip
    assert names(insight.MinutePeak) == ["start", "read_peak", "write_peak"]
    assert names(insight.AccountUsage) == [
        "window", "rows", "peaks", "total", "error_rate", "rate_limited",
    ]  # fmt: skip
    assert str(inspect.signature(insight.credential_usage)) == (
        "(kind: str, ids: collections.abc.Iterable[int], window: str = '24h', *, now=None)"
        " -> usage.insight.CredentialUsage"
    )
    assert list(inspect.signature(insight.sparklines).parameters) == ["kind", "ids", "days", "now"]
    assert list(inspect.signature(insight.account_usage).parameters) == [
        "account_id", "window", "now",
    ]  # fmt: skip
