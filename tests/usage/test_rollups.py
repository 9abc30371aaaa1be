"""Usage rollups at flush time: equal to a GROUP BY over the request log, each entry counted once."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncMinute
from django.test.utils import CaptureQueriesContext

from oauthapps.models import AccessToken
from statuspool import geoip
from tests.oauthapps.helpers import issue_tokens, register_app
from usage import requestlog, rollups
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

from .conftest import bearer

HOUR = datetime(2026, 11, 30, 14, tzinfo=UTC)


def entry(key, *, at, method="GET", path="/v2/monitors", status=200, ms=12, ip="192.0.2.10"):
    """A buffered request-log entry as entry_for writes it (for statuses a test client cannot
    provoke on demand: 429, 5xx, and for times other than now)."""
    return {
        "u": uuid.uuid4().hex,
        "t": at.isoformat(),
        "a": key.account_id,
        "k": "api_key",
        "c": key.pk,
        "g": None,
        "l": key.display_id,
        "m": method,
        "p": path,
        "s": status,
        "ip": ip,
        "ua": "tests",
        "d": ms,
    }


def push(*entries):
    for item in entries:
        requestlog.push(item)


def expected_from_log(kind_filter: Q, start: datetime, span: timedelta) -> dict:
    """The rollup's counts as a GROUP BY over the raw rows of one credential and period."""
    rows = RequestLog.objects.filter(
        kind_filter, occurred_at__gte=start, occurred_at__lt=start + span
    )
    read = Q(method__in=["GET", "HEAD", "OPTIONS"])
    counts = rows.aggregate(
        requests=Count("id"),
        ok=Count("id", filter=Q(status__gte=100, status__lt=400)),
        client_errors=Count("id", filter=Q(status__gte=400, status__lt=500) & ~Q(status=429)),
        rate_limited=Count("id", filter=Q(status=429)),
        server_errors=Count("id", filter=Q(status__gte=500) | Q(status__lt=100)),
        reads=Count("id", filter=read),
        writes=Count("id", filter=~read),
    )
    per_minute = (
        rows.annotate(minute=TruncMinute("occurred_at"))
        .values("minute")
        .annotate(
            reads=Count("id", filter=read),
            writes=Count("id", filter=~read),
        )
    )
    counts["read_peak"] = max((m["reads"] for m in per_minute), default=0)
    counts["write_peak"] = max((m["writes"] for m in per_minute), default=0)
    durations = sorted(rows.values_list("duration_ms", flat=True))
    counts["p95_ms"] = durations[max(0, -(-95 * len(durations) // 100) - 1)] if durations else None
    return counts


def rollup_counts(row) -> dict:
    return {name: getattr(row, name) for name in (*rollups.COUNT_FIELDS, "read_peak", "write_peak")}


def histogram_p95(latency: list[int]) -> int:
    """The bucket index the 95th percentile falls in (nearest rank)."""
    rank, seen = -(-95 * sum(latency) // 100), 0
    for index, count in enumerate(latency):
        seen += count
        if seen >= rank:
            return index
    raise AssertionError("empty histogram")


def test_real_requests_are_rolled_up_like_a_group_by_over_their_rows(client, account_a, make_key):
    key, raw = make_key(account_a, scopes=["monitors:read", "monitors:write"])
    assert client.get("/v2/monitors", **bearer(raw)).status_code == 200
    assert client.get("/v2/monitors", **bearer(raw)).status_code == 200
    assert client.head("/v2/monitors", **bearer(raw)).status_code == 200
    assert client.get("/v2/monitors/999999", **bearer(raw)).status_code == 404
    assert client.get("/v2/audit-log", **bearer(raw)).status_code == 403
    bad = client.post("/v2/monitors", data={}, content_type="application/json", **bearer(raw))
    assert bad.status_code == 400
    # Statuses a test client cannot provoke on demand, in an hour of their own, with latencies
    # spread over the histogram.
    push(
        *[entry(key, at=HOUR + timedelta(minutes=3, seconds=i), ms=i * 7) for i in range(40)],
        *[entry(key, at=HOUR + timedelta(minutes=4), status=429, method="POST") for _ in range(6)],
        entry(key, at=HOUR + timedelta(minutes=5), status=503, ms=2900),
        entry(key, at=HOUR + timedelta(minutes=5), status=302, method="DELETE"),
        entry(key, at=HOUR + timedelta(minutes=59, seconds=59), status=500, ms=40000),
    )
    requestlog.flush()

    of_key = Q(credential_kind="api_key", credential_id=key.pk)
    hours = HourlyUsage.objects.filter(credential_kind=RollupKind.API_KEY, credential_id=key.pk)
    assert hours.count() >= 2
    assert sum(h.requests for h in hours) == RequestLog.objects.filter(of_key).count() == 55
    for hour in hours:
        expected = expected_from_log(of_key, hour.start, timedelta(hours=1))
        p95 = expected.pop("p95_ms")
        assert rollup_counts(hour) == expected, hour.start
        assert hour.account_id == account_a.pk and hour.credential_label == key.display_id
        # The exact p95 lies in the bucket the histogram names.
        assert histogram_p95(hour.latency) == rollups.latency_bucket(p95)
    past = hours.get(start=HOUR)
    assert (past.ok, past.client_errors, past.rate_limited, past.server_errors) == (41, 0, 6, 2)
    assert (past.read_peak, past.write_peak) == (40, 6)
    assert past.latency[-1] == 1  # 40 s: slower than the last bound
    assert len(past.latency) == len(LATENCY_BOUNDS_MS) + 1
    assert past.minute_reads[3] == 40 and past.minute_reads[59] == 1


def test_a_day_is_the_sum_of_its_hours(account_a, make_key):
    key, _ = make_key(account_a)
    push(
        *[entry(key, at=HOUR + timedelta(minutes=1)) for _ in range(5)],
        *[entry(key, at=HOUR + timedelta(hours=2, minutes=30), method="PUT") for _ in range(3)],
        *[entry(key, at=HOUR + timedelta(hours=2, minutes=31), status=404) for _ in range(2)],
    )
    requestlog.flush()
    push(*[entry(key, at=HOUR + timedelta(hours=3)) for _ in range(7)])  # a later flush
    requestlog.flush()
    day = DailyUsage.objects.get(credential_id=key.pk)
    assert day.start == HOUR.replace(hour=0)
    hours = HourlyUsage.objects.filter(credential_id=key.pk)
    for name in rollups.COUNT_FIELDS:
        assert getattr(day, name) == sum(getattr(h, name) for h in hours), name
    assert day.latency == [sum(column) for column in zip(*(h.latency for h in hours), strict=True)]
    assert (day.read_peak, day.write_peak) == (7, 3)  # the busiest minute of any of its hours
    expected = expected_from_log(Q(credential_id=key.pk), day.start, timedelta(days=1))
    expected.pop("p95_ms")
    assert rollup_counts(day) == expected


def test_an_entry_that_arrives_twice_is_counted_once(account_a, make_key, settings):
    key, _ = make_key(account_a)
    twice = entry(key, at=HOUR)
    push(twice, twice, entry(key, at=HOUR))  # in one batch
    requestlog.flush()
    push(twice)  # and again in a later flush
    requestlog.flush()
    assert RequestLog.objects.filter(credential_id=key.pk).count() == 2
    assert HourlyUsage.objects.get(credential_id=key.pk).requests == 2
    assert DailyUsage.objects.get(credential_id=key.pk).requests == 2
    assert HourlyEndpoint.objects.get(credential_id=key.pk).requests == 2
    assert HourlyClient.objects.get(credential_id=key.pk).requests == 2


def test_a_failed_flush_counts_nothing_and_the_retry_counts_once(account_a, make_key, monkeypatch):
    key, _ = make_key(account_a)
    push(*[entry(key, at=HOUR) for _ in range(3)])
    real = rollups._merge_details

    def broken(*args, **kwargs):
        raise RuntimeError("database went away mid-flush")

    monkeypatch.setattr(rollups, "_merge_details", broken)
    with pytest.raises(RuntimeError):
        requestlog.flush()
    assert not RequestLog.objects.exists() and not HourlyUsage.objects.exists()
    monkeypatch.setattr(rollups, "_merge_details", real)
    assert requestlog.flush() == 3
    assert HourlyUsage.objects.get(credential_id=key.pk).requests == 3


def test_oauth_requests_are_counted_per_authorization_across_token_refreshes(
    client, account_a, alice
):
    app, _ = register_app(account_a)
    first, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    token = AccessToken.objects.get(application=app)
    authorization = token.authorization
    assert client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 200
    # A refreshed token of the same grant: a new AccessToken row, the same authorization.
    token.pk, token.token, token.token_checksum = None, "", ""
    from oauth2_provider.models import set_token_value

    from oauthapps import token_format

    second = token_format.generate_access_token()
    set_token_value(token, second)
    token.save()
    assert client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 200
    requestlog.flush()

    rows = RequestLog.objects.filter(credential_kind="oauth_token")
    assert len({row.credential_id for row in rows}) == 2
    assert {row.authorization_id for row in rows} == {authorization.pk}
    hour = HourlyUsage.objects.get()
    assert (hour.credential_kind, hour.credential_id) == (
        RollupKind.OAUTH_AUTHORIZATION,
        authorization.pk,
    )
    assert hour.requests == 2 and hour.credential_label == app.name


def test_endpoints_and_clients_per_hour_are_capped_across_flushes(account_a, make_key, monkeypatch):
    monkeypatch.setattr(geoip, "country_of", lambda ip: "NL" if ip.endswith(".7") else "DE")
    key, _ = make_key(account_a)
    over = 7
    paths = [f"/v2/monitors/{n}" for n in range(ENDPOINTS_PER_HOUR + over)]
    ips = [f"198.51.100.{n}" for n in range(CLIENTS_PER_HOUR + over)]
    half = ENDPOINTS_PER_HOUR // 2
    push(*[entry(key, at=HOUR, path=p, ip=ips[i]) for i, p in enumerate(paths[:half])])
    requestlog.flush()
    push(*[entry(key, at=HOUR, path=p, ip=ips[half + i]) for i, p in enumerate(paths[half:])])
    push(entry(key, at=HOUR, path=paths[0], status=500, ip=ips[0]))  # a kept one, seen again
    requestlog.flush()

    endpoints = HourlyEndpoint.objects.filter(credential_id=key.pk)
    assert endpoints.exclude(path=OTHER_PATHS).count() == ENDPOINTS_PER_HOUR
    other = endpoints.get(path=OTHER_PATHS)
    assert (other.method, other.requests) == ("", over)
    assert endpoints.get(path=paths[0]).requests == 2 and endpoints.get(path=paths[0]).errors == 1
    assert sum(e.requests for e in endpoints) == HourlyUsage.objects.get().requests

    clients = HourlyClient.objects.filter(credential_id=key.pk)
    assert clients.exclude(ip="").count() == CLIENTS_PER_HOUR
    # Addresses over the cap are counted per country, so the hour's countries stay exact.
    folded = {c.country: c.requests for c in clients.filter(ip="")}
    assert sum(folded.values()) == over
    assert {c.country for c in clients} == {"NL", "DE"}
    assert sum(c.requests for c in clients) == HourlyUsage.objects.get().requests


def test_flush_statements_do_not_grow_with_the_batch(account_a, make_key):
    keys = [make_key(account_a, name=f"key {n}")[0] for n in range(3)]

    def statements(per_key: int) -> int:
        for n in range(per_key):
            push(
                *[entry(k, at=HOUR + timedelta(minutes=n % 60), path=f"/v2/p{n % 5}") for k in keys]
            )
        with CaptureQueriesContext(connection) as captured:
            requestlog.flush()
        return len(captured.captured_queries)

    # SQLite's bulk statements are cut at Django's 999 parameters: 60 rows fit in one there.
    large_batch = 200 if connection.vendor == "postgresql" else 20
    small, large = statements(2), statements(large_batch)
    assert small == large
    # The insert, then for hourly and daily rollups: create missing, lock, write back; for
    # endpoints and clients: read, write back (plus the transaction's own statements).
    assert large <= 14
    assert HourlyUsage.objects.filter(credential_id=keys[0].pk).get().requests == 2 + large_batch


def test_entries_name_the_oauth_grant(account_a):
    from statuspool.api.credentials import Credential, CredentialKind

    credential = Credential(
        kind=CredentialKind.OAUTH_TOKEN,
        id=5,
        account_id=account_a.pk,
        plan="team",
        scopes=frozenset(),
        authorization_id=42,
    )

    class Request:
        method, path, META = "GET", "/v2/monitors", {}

    class Response:
        status_code = 200

    made = requestlog.entry_for(
        credential=credential, request=Request(), response=Response(), ip="192.0.2.1", duration_ms=1
    )
    assert (made["c"], made["g"]) == (5, 42)
    json.dumps(made)


@pytest.mark.parametrize(
    "status, expected",
    [
        (200, "ok"),
        (204, "ok"),
        (101, "ok"),
        (304, "ok"),
        (400, "client_errors"),
        (404, "client_errors"),
        (429, "rate_limited"),
        (500, "server_errors"),
        (503, "server_errors"),
        (0, "server_errors"),
        (600, "server_errors"),
    ],
)
def test_status_classes(status, expected):
    assert rollups.status_class(status) == expected


def test_retention_drops_hourly_rollups_after_90_days_and_daily_ones_with_the_log(
    account_a, make_key, settings
):
    from usage.retention import purge_rollups

    key, _ = make_key(account_a)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    push(
        entry(key, at=now - timedelta(days=200)),  # past the hourly rows' 91 days
        entry(key, at=now - timedelta(days=90)),  # still read by the 90-day window
        entry(key, at=now - timedelta(days=400)),  # past the log's retention: all of it
    )
    requestlog.flush()
    deleted = purge_rollups(cutoff=now - timedelta(days=365), now=now, batch_size=2)
    kept_hours = {h.start.date() for h in HourlyUsage.objects.all()}
    assert kept_hours == {(now - timedelta(days=90)).date()}
    assert {h.start.date() for h in HourlyEndpoint.objects.all()} == kept_hours
    assert {h.start.date() for h in HourlyClient.objects.all()} == kept_hours
    assert {d.start.date() for d in DailyUsage.objects.all()} == {
        (now - timedelta(days=90)).date(),
        (now - timedelta(days=200)).date(),
    }
    assert deleted == 1 + 3 * 2  # a day; two hours with their endpoint and client rows
    # A retention shorter than 90 days takes the hours with it.
    assert purge_rollups(cutoff=now - timedelta(days=30), now=now) == 2 + 3
    assert not HourlyUsage.objects.exists() and not DailyUsage.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_lose_no_count(account_a):
    """Flushers in parallel transactions create, lock and merge the same hours: every row counted
    once, none lost to a concurrent write (the rows are created, then locked, then merged)."""
    import random
    import threading

    from django.db import connection as main_connection

    from apikeys.models import ApiKey
    from tests.api.fixtures import issue_key

    keys = [issue_key(account_a, ["monitors:read"])[0] for _ in range(3)]
    rng = random.Random(7)
    batches = [
        [
            json.dumps(
                entry(
                    rng.choice(keys),
                    at=HOUR + timedelta(hours=rng.randrange(3), minutes=rng.randrange(60)),
                    path=f"/v2/p/{rng.randrange(80)}",
                    ip=f"198.51.100.{rng.randrange(90)}",
                    method=rng.choice(["GET", "POST"]),
                )
            )
            for _ in range(150)
        ]
        for _ in range(12)
    ]
    errors = []

    def flush_some(mine):
        from django.db import connection

        try:
            for lines in mine:
                requestlog._insert(lines, lambda ip: "")
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=flush_some, args=(batches[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    main_connection.close()
    for key in ApiKey.objects.filter(pk__in=[k.pk for k in keys]):
        rows = RequestLog.objects.filter(credential_id=key.pk)
        assert (
            sum(h.requests for h in HourlyUsage.objects.filter(credential_id=key.pk))
            == rows.count()
        )
        assert DailyUsage.objects.get(credential_id=key.pk).requests == rows.count()
        assert (
            sum(e.requests for e in HourlyEndpoint.objects.filter(credential_id=key.pk))
            == rows.count()
        )
        for hour in HourlyUsage.objects.filter(credential_id=key.pk):
            expected = expected_from_log(Q(credential_id=key.pk), hour.start, timedelta(hours=1))
            expected.pop("p95_ms")
            assert rollup_counts(hour) == expected
            endpoints = HourlyEndpoint.objects.filter(credential_id=key.pk, start=hour.start)
            assert endpoints.exclude(path=OTHER_PATHS).count() <= ENDPOINTS_PER_HOUR
