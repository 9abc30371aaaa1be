"""The request log at scale (issue 13, item 6): 10,000,000 request-log rows of 200 API keys over 13
months in the monthly-partitioned table, with their hourly and daily rollups, then:

- the key page's chart query (``usage.insight.credential_usage``, 24h/7d/30d/90d) and the key page
  itself through the Django test client: p95 ≤ 100 ms;
- a filtered search (one key, 7 days, one status class, first page of its request list, through
  ``usage.search``): p95 ≤ 150 ms;
- flush throughput (``usage.requestlog.flush`` of buffered entries, rollups included):
  ≥ 20,000 rows/s;
- a month's purge (``usage.partitions.drop_expired`` of one whole month): longest lock held
  < 1 s, with an insert loop running meanwhile whose slowest insert is reported.

Run with ``make bench BENCH=request_log`` (or ``python -m bench request_log``). Needs PostgreSQL;
works in a database of its own (BENCH_REQUESTLOG_DATABASE, default statuspool_bench_requestlog)
kept between runs while it holds the rows (BENCH_REQUESTLOG_RELOAD=1 rebuilds it), its own var/,
cache prefix and Redis database (``bench.kept_database``). The month purged is an extra, 14th month
loaded for that step each run, so the 13 months measured stay whole.
"""

import json
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.kept_database import kept_database

# BENCH_REQUESTLOG_ROWS: fewer rows for a quick trial of the benchmark itself (not a figure).
ROWS = int(os.environ.get("BENCH_REQUESTLOG_ROWS", 10_000_000))
KEYS = 200
KEYS_PER_ACCOUNT = 4  # a plan allows the default key plus three
BUSY_KEYS = 5  # 40 % of all requests
MONTHS = 13
CHUNK = 250_000
RUNS = 50
WARMUP = 3
FLUSH_ENTRIES = 20_000
FLUSH_ROUNDS = 3
ACCOUNT_NAME = "Bench Usage Co"
OWNER_EMAIL = "bench-usage@statuspool.test"
CHART_P95_MS, SEARCH_P95_MS, FLUSH_ROWS_PER_S, PURGE_LOCK_S = 100, 150, 20_000, 1.0

# The rows, from generate_series(g): which key (40 % on the 5 busy ones), when (evenly over the
# 13 months, so the load fills one partition after the other), what and from where.
_ROW_SQL = """
INSERT INTO usage_requestlog (occurred_at, account_id, credential_kind, credential_id,
    credential_label, method, path, status, ip, country, user_agent, duration_ms, entry_id)
SELECT %(start)s::timestamptz + %(span)s::interval * ((g - %(first)s)::float8 / %(count)s),
    (%(accounts)s::bigint[])[k + 1], 'api_key', (%(keys)s::bigint[])[k + 1], 'bench key ' || k, method,
    CASE method
        WHEN 'GET' THEN (ARRAY['/v2/monitors', '/v2/incidents', '/v2/credential', '/v2/alert-rules',
            '/v2/uptime', '/v2/channels'])[1 + g %% 6]
        WHEN 'POST' THEN '/v2/monitors'
        ELSE '/v2/monitors/' || (g %% 10)
    END,
    CASE WHEN s < 0.85 THEN 200 WHEN s < 0.88 THEN 201 WHEN s < 0.93 THEN 404
         WHEN s < 0.95 THEN 400 WHEN s < 0.96 THEN 401 WHEN s < 0.99 THEN 429
         WHEN s < 0.997 THEN 500 ELSE 503 END,
    ('203.0.' || (client / 250) || '.' || (client %% 250 + 1))::inet,
    (ARRAY['US', 'DE', 'GB', 'FR', 'JP', 'BR', 'IN', 'NL', 'CA', 'AU'])[1 + client %% 10],
    (ARRAY['statuspool-cli/2.1', 'python-requests/2.32', 'Terraform/1.9', 'curl/8.5'])[1 + k %% 4],
    (3 + 400 * power(d, 8))::int,
    gen_random_uuid()
FROM (
    SELECT g, k, s, d,
        CASE WHEN m < 0.8 THEN 'GET' WHEN m < 0.92 THEN 'POST' WHEN m < 0.97 THEN 'PATCH'
             ELSE 'DELETE' END AS method,
        -- a handful of addresses per key, 40 for the busy ones
        (k * 7 + g %% CASE WHEN k < %(busy)s THEN 40 ELSE 6 END) %% 10000 AS client
    FROM (
        SELECT g,
            CASE WHEN g %% 10 < 4 THEN g %% %(busy)s
                 ELSE %(busy)s + (g * 2654435761) %% (%(keycount)s - %(busy)s) END AS k,
            ((g * 48271) %% 1000003)::float8 / 1000003 AS s,
            ((g * 69621) %% 999983)::float8 / 999983 AS m,
            ((g * 16807) %% 999979)::float8 / 999979 AS d
        FROM generate_series(%(low)s::bigint, %(last)s::bigint) AS g
    ) picked
) AS r
"""


def _refuse(message: str) -> int:
    print(f"request_log benchmark: {message}", file=sys.stderr)
    return 2


# --- fixtures and data -----------------------------------------------------------------------------
def _fixtures():
    """50 accounts of 4 API keys each (a plan's most), the first one's owner (2FA confirmed):
    (owner, keys); created once."""
    import pyotp
    from django.utils import timezone

    from apikeys.models import ApiKey
    from apikeys.services import apikey_create
    from audit.services import Actor
    from statuspool.accounts.models import Account, Membership, Role, TOTPDevice, User

    keys = []
    for number in range(KEYS // KEYS_PER_ACCOUNT):
        name = f"{ACCOUNT_NAME} {number + 1}"
        account = Account.objects.filter(name=name).first() or Account.objects.create(
            name=name, plan="enterprise", billing_email=OWNER_EMAIL
        )
        existing = list(ApiKey.objects.filter(account=account).order_by("id"))
        for _ in range(len(existing), KEYS_PER_ACCOUNT):
            key, _ = apikey_create(
                account=account,
                name=f"bench key {len(keys) + len(existing)}",
                scopes=["monitors:read"],
                actor=Actor.system("bench"),
                notify=False,
            )
            existing.append(key)
        keys += existing
    # As old as their traffic: a key's pages start at its creation.
    since = datetime.now(UTC) - timedelta(days=31 * (MONTHS + 1))
    ApiKey.objects.filter(pk__in=[key.pk for key in keys]).update(created_at=since)
    owner = User.objects.filter(email=OWNER_EMAIL).first()
    if owner is None:
        owner = User.objects.create_user(OWNER_EMAIL, "bench passphrase not used 1")
        TOTPDevice.objects.create(
            user=owner, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )
    Membership.objects.get_or_create(
        user=owner, account=keys[0].account, defaults={"role": Role.OWNER}
    )
    return owner, keys


def _month_start(moment):
    from usage import partitions

    return partitions.month_start(moment)


def _insert_rows(keys, start, end, count, first=1, progress=None) -> None:
    """``count`` rows spread evenly from ``start`` to ``end`` (series numbers from ``first``)."""
    from django.db import connection, transaction

    for low in range(first, first + count, CHUNK):
        high = min(low + CHUNK - 1, first + count - 1)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute(
                _ROW_SQL,
                {
                    "start": start,
                    "span": end - start,
                    "first": first,
                    "count": count,
                    "low": low,
                    "last": high,
                    "accounts": [key.account_id for key in keys],
                    "keys": [key.pk for key in keys],
                    "busy": BUSY_KEYS,
                    "keycount": KEYS,
                },
            )
        if progress is not None:
            progress.update(high - low + 1)


def _drop_indexes() -> list[str]:
    """Drop the request log's key constraints and indexes; returns the statements that build
    them again, exactly as they were (names included)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'usage_requestlog'::regclass AND contype IN ('p', 'u')"
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index x "
            "WHERE indrelid = 'usage_requestlog'::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE usage_requestlog DROP CONSTRAINT "{name}"')
    return [
        *(f'ALTER TABLE usage_requestlog ADD CONSTRAINT "{n}" {d}' for n, d in constraints),
        *(definition.replace(" ON ONLY ", " ON ") for _, definition in indexes),
    ]


def _load(keys) -> None:
    from django.db import connection
    from django.utils import timezone
    from tqdm import tqdm

    from usage import partitions

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE usage_requestlog")
    now = timezone.now()
    first_month = partitions.add_months(_month_start(now), -(MONTHS - 1))
    partitions.ensure_partitions(MONTHS, now=first_month)
    end = now - timedelta(minutes=5)
    # Indexes are built once after the load: maintaining five of them (one over random UUIDs)
    # row by row is what makes 10 million inserts slow.
    rebuild = _drop_indexes()
    with tqdm(total=ROWS, unit="row", desc="request log") as progress:
        _insert_rows(keys, first_month, end, ROWS, progress=progress)
    with tqdm(total=len(rebuild), unit="index", desc="indexes") as progress:
        for statement in rebuild:
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")
                cursor.execute("SET maintenance_work_mem = '256MB'")  # sorts in memory
                cursor.execute(statement)
                cursor.execute("RESET statement_timeout")
                cursor.execute("RESET maintenance_work_mem")
            progress.update(1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE usage_requestlog")


def _roll_up_all() -> None:
    """Daily rollups of the 13 months; hourly ones (with the hours' endpoints and clients) of
    the months retention keeps them for (usage.retention.HOURLY_ROLLUPS_KEPT)."""
    from django.db import connection
    from django.utils import timezone
    from tqdm import tqdm

    from usage import partitions, retention
    from usage.models import DailyUsage, HourlyClient, HourlyEndpoint, HourlyUsage

    tables = [
        model._meta.db_table for model in (HourlyUsage, DailyUsage, HourlyEndpoint, HourlyClient)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
    now = timezone.now()
    hourly_since = now - retention.HOURLY_ROLLUPS_KEPT
    first_month = partitions.add_months(_month_start(now), -(MONTHS - 1))
    months = [partitions.add_months(first_month, n) for n in range(MONTHS)]
    with tqdm(total=len(months), unit="month", desc="rollups") as progress:
        for month in months:
            end = partitions.add_months(month, 1)
            _roll_up(month, end, hourly=end > hourly_since)
            progress.update(1)
    with connection.cursor() as cursor:
        for model in (HourlyUsage, HourlyEndpoint, HourlyClient):
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE start < %s",  # noqa: S608  # nosec B608  # model meta
                [hourly_since],
            )
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


# --- rollups of the loaded rows, in SQL (usage.rollups computes the same at flush time) -------------
def _dense(sparse: str, size: int) -> str:
    """A JSON array of ``size`` counts from a sparse {"index": count} object."""
    items = ", ".join(f"coalesce(({sparse}->>'{i}')::int, 0)" for i in range(size))
    return f"jsonb_build_array({items})"


def _rollup_sql(period: str, minutes: bool) -> str:
    """The rollup rows of one period kind over [low, high): counts in one pass, the latency
    histogram and per-minute counts grouped sparse first, then made dense per period row."""
    from usage.models import LATENCY_BOUNDS_MS

    bounds = ",".join(str(bound) for bound in LATENCY_BOUNDS_MS)
    minute_columns = (
        f", mins.read_peak, mins.write_peak, {_dense('mins.reads', 60)}, {_dense('mins.writes', 60)}"
        if minutes
        else ""
    )
    day_peaks = (
        """
        JOIN (SELECT credential_id, start,
                     coalesce(max(n) FILTER (WHERE rd), 0) AS read_peak,
                     coalesce(max(n) FILTER (WHERE NOT rd), 0) AS write_peak
              FROM (SELECT credential_id, start, mt, rd, count(*) AS n FROM r GROUP BY 1, 2, 3, 4) m
              GROUP BY 1, 2) peaks USING (credential_id, start)"""
        if not minutes
        else ""
    )
    if not minutes:
        minute_columns = ", peaks.read_peak, peaks.write_peak"
    minute_join = (
        """
        JOIN (SELECT credential_id, start,
                     coalesce(jsonb_object_agg(mi, n) FILTER (WHERE rd), '{}') AS reads,
                     coalesce(jsonb_object_agg(mi, n) FILTER (WHERE NOT rd), '{}') AS writes,
                     coalesce(max(n) FILTER (WHERE rd), 0) AS read_peak,
                     coalesce(max(n) FILTER (WHERE NOT rd), 0) AS write_peak
              FROM (SELECT credential_id, start, mi, rd, count(*) AS n FROM r GROUP BY 1, 2, 3, 4) m
              GROUP BY 1, 2) mins USING (credential_id, start)"""
        if minutes
        else ""
    )
    return (
        "WITH r AS ("  # nosec B608  # names from model meta and constants; values are parameters
        f"""
            SELECT account_id, credential_id, credential_label, status,
                date_trunc('{period}', occurred_at, 'UTC') AS start,
                width_bucket(duration_ms - 1, ARRAY[{bounds}]) AS b,
                extract(minute FROM occurred_at AT TIME ZONE 'UTC')::int AS mi,
                date_trunc('minute', occurred_at) AS mt,
                method IN ('GET', 'HEAD', 'OPTIONS') AS rd
            FROM usage_requestlog
            WHERE credential_kind = 'api_key' AND occurred_at >= %(low)s AND occurred_at < %(high)s
        )
        SELECT c.account_id, 'api_key', credential_id, c.label, start, c.requests, c.ok,
            c.client_errors, c.rate_limited, c.server_errors, c.reads, c.writes,
            {_dense("lat.o", len(LATENCY_BOUNDS_MS) + 1)}{minute_columns}
        FROM (
            SELECT account_id, credential_id, start, max(credential_label) AS label,
                count(*) AS requests,
                count(*) FILTER (WHERE status BETWEEN 100 AND 399) AS ok,
                count(*) FILTER (WHERE status BETWEEN 400 AND 499 AND status <> 429)
                    AS client_errors,
                count(*) FILTER (WHERE status = 429) AS rate_limited,
                count(*) FILTER (WHERE status < 100 OR status >= 500) AS server_errors,
                count(*) FILTER (WHERE rd) AS reads,
                count(*) FILTER (WHERE NOT rd) AS writes
            FROM r GROUP BY 1, 2, 3
        ) c
        JOIN (SELECT credential_id, start, jsonb_object_agg(b, n) AS o
              FROM (SELECT credential_id, start, b, count(*) AS n FROM r GROUP BY 1, 2, 3) l
              GROUP BY 1, 2) lat USING (credential_id, start){minute_join}{day_peaks}
    """  # noqa: S608  # built from constants
    )


def _roll_up(low, high, *, hourly: bool) -> None:
    from django.db import connection, transaction

    from usage.models import HourlyClient, HourlyEndpoint, HourlyUsage

    common = (
        "account_id, credential_kind, credential_id, credential_label, start, requests, ok, "
        "client_errors, rate_limited, server_errors, reads, writes, latency"
    )
    window = {"low": low, "high": high}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL statement_timeout = 0")  # a month's rows, minutes on this box
        # The aggregates joined are the same size; statistics of a fresh load may say 1 row.
        cursor.execute("SET LOCAL enable_nestloop = off")
        # A month is one partition read whole: a sequential scan, not 770,000 index probes.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        _insert_daily(cursor, common, window)
        if not hourly:
            return
        cursor.execute(
            f"INSERT INTO {HourlyUsage._meta.db_table} ({common}, read_peak, write_peak, "
            f"minute_reads, minute_writes) {_rollup_sql('hour', minutes=True)}",
            window,
        )
        cursor.execute(  # nosec B608  # table names from model meta, values as parameters
            f"INSERT INTO {HourlyEndpoint._meta.db_table} "  # nosec B608  # names from model meta and constants; values are parameters
            f"""
                (credential_kind, credential_id, start, method, path, requests, errors)
            SELECT 'api_key', credential_id, date_trunc('hour', occurred_at, 'UTC'), method, path,
                   count(*), count(*) FILTER (WHERE status >= 400 OR status < 100)
            FROM usage_requestlog
            WHERE credential_kind = 'api_key' AND occurred_at >= %(low)s AND occurred_at < %(high)s
            GROUP BY 2, 3, 4, 5
            """,  # noqa: S608  # table names from model meta
            window,
        )
        cursor.execute(  # nosec B608  # table names from model meta, values as parameters
            f"INSERT INTO {HourlyClient._meta.db_table} "  # nosec B608  # names from model meta and constants; values are parameters
            f"""
                (credential_kind, credential_id, start, ip, country, requests)
            SELECT 'api_key', credential_id, date_trunc('hour', occurred_at, 'UTC'),
                   coalesce(host(ip), ''), country, count(*)
            FROM usage_requestlog
            WHERE credential_kind = 'api_key' AND occurred_at >= %(low)s AND occurred_at < %(high)s
            GROUP BY 2, 3, 4, 5
            """,  # noqa: S608  # table names from model meta
            window,
        )


def _insert_daily(cursor, common: str, window: dict) -> None:
    from usage.models import DailyUsage

    cursor.execute(
        f"INSERT INTO {DailyUsage._meta.db_table} ({common}, read_peak, write_peak) "  # nosec B608  # names from model meta and constants; values are parameters
        f"{_rollup_sql('day', minutes=False)}",
        window,
    )


# --- measuring -------------------------------------------------------------------------------------
def _p50_p95(call) -> tuple[float, float]:
    for _ in range(WARMUP):
        call()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), statistics.quantiles(timings, n=100)[94]


def _chart_calls(key, owner) -> dict:
    """The key page's chart data per window, and the key page itself."""
    from django.test import Client
    from django.urls import reverse

    calls = {}
    try:
        from usage import insight
    except ImportError:  # the charts are not on this checkout yet
        insight = None
    if insight is not None:
        for window in ("24h", "7d", "30d", "90d"):
            calls[f"chart data {window} (insight.credential_usage)"] = lambda w=window: (
                insight.credential_usage("api_key", [key.pk], w)
            )
    page = Client()
    page.force_login(owner)
    url = reverse("apikeys:detail", args=[key.public_id])

    def key_page():
        response = page.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"key page answered {response.status_code}")

    calls["key page (test client)"] = key_page
    return calls


def _search_calls(key, owner) -> dict:
    """First page of one key's requests, last 7 days, 4xx only: the search itself and the
    request list page showing it."""
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from usage.models import RequestLog

    queryset = RequestLog.objects.for_api_key(key)
    filters = {"window": "7d", "status": "4xx"}
    calls = {}
    try:
        from usage import search
    except ImportError:
        search = None
    if search is not None:

        def first_page():
            form = search.RequestSearchForm(filters)
            if not form.is_valid():
                raise RuntimeError(f"the search refused the bench filters: {form.errors}")
            page = search.search_page(
                search.filtered(queryset, form.cleaned_data), scope=f"api_key:{key.pk}"
            )
            return list(page.rows)

        calls["search: 1 key, 7 days, 4xx (usage.search)"] = first_page
    else:

        def first_page():  # the request list's query (usage.search not on this checkout)
            since = datetime.now(UTC) - timedelta(days=7)
            return list(
                queryset.filter(occurred_at__gte=since, status__gte=400, status__lt=500)
                .exclude(status=429)
                .order_by("-occurred_at", "-id")[:51]
            )

        calls["search: 1 key, 7 days, 4xx (ORM)"] = first_page
    try:
        url = reverse("apikeys_requests:requests")
    except NoReverseMatch:  # the request list page is not on this checkout
        return calls
    page = Client()
    page.force_login(owner)

    def request_list():
        response = page.get(url, {"key": key.public_id, **filters})
        if response.status_code != 200:
            raise RuntimeError(f"request list answered {response.status_code}")

    calls["request list page, same filters (test client)"] = request_list
    return calls


def _flush_rate(keys) -> list[float]:
    """Rows per second of usage.requestlog.flush over FLUSH_ENTRIES buffered entries."""
    from django.utils import timezone

    from usage import requestlog

    client = requestlog._redis()
    rates = []
    for _ in range(FLUSH_ROUNDS):
        moment = timezone.now()
        lines = []
        for number in range(FLUSH_ENTRIES):
            key = keys[number % len(keys)]
            lines.append(
                json.dumps(
                    {
                        "u": uuid.uuid4().hex,
                        "t": (moment - timedelta(milliseconds=number)).isoformat(),
                        "a": key.account_id,
                        "k": "api_key",
                        "c": key.pk,
                        "g": None,
                        "l": key.name,
                        "m": "GET" if number % 5 else "POST",
                        "p": "/v2/monitors",
                        "s": 200 if number % 20 else 429,
                        "ip": f"192.0.2.{number % 200 + 1}",
                        "ua": "bench",
                        "d": number % 300,
                    },
                    separators=(",", ":"),
                )
            )
        for start in range(0, len(lines), 5000):
            client.rpush(requestlog.REDIS_LIST, *lines[start : start + 5000])
        started = time.perf_counter()
        written = requestlog.flush(max_entries=FLUSH_ENTRIES)
        seconds = time.perf_counter() - started
        if written != FLUSH_ENTRIES:
            raise RuntimeError(f"flush wrote {written} of {FLUSH_ENTRIES} rows")
        rates.append(FLUSH_ENTRIES / seconds)
    return rates


def _insert_loop(stop: threading.Event, latencies: list, account_id: int, key_id: int):
    """Another client writing to the log during the purge: one insert every 5 ms."""
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
    ) as other:
        while not stop.is_set():
            started = time.perf_counter()
            other.execute(
                "INSERT INTO usage_requestlog (occurred_at, account_id, credential_kind, "
                "credential_id, credential_label, method, path, status, country, user_agent, "
                "duration_ms) VALUES (now(), %s, 'api_key', %s, 'bench purge probe', 'GET', "
                "'/v2/monitors', 200, '', '', 1)",
                [account_id, key_id],
            )
            latencies.append((started, time.perf_counter() - started))
            time.sleep(0.005)
        other.execute(
            "DELETE FROM usage_requestlog WHERE credential_label = 'bench purge probe' "
            "AND occurred_at > now() - interval '1 hour'"
        )


def _purge_month(keys):
    """Load a 14th, older month (a month's share of the rows), then drop it with drop_expired
    while another connection keeps inserting."""
    from django.utils import timezone

    from usage import partitions

    oldest = partitions.add_months(_month_start(timezone.now()), -MONTHS)
    cutoff = partitions.add_months(oldest, 1)
    partitions.ensure_partitions(0, now=oldest)
    rows = ROWS // MONTHS
    _insert_rows(keys, oldest, cutoff - timedelta(seconds=1), rows)
    stop, latencies = threading.Event(), []
    inserter = threading.Thread(
        target=_insert_loop, args=(stop, latencies, keys[0].account_id, keys[0].pk)
    )
    inserter.start()
    time.sleep(1)  # inserts before the purge: what an insert costs on this machine now
    started = time.perf_counter()
    result = partitions.drop_expired(cutoff)
    finished = time.perf_counter()
    time.sleep(0.3)
    stop.set()
    inserter.join()
    during = [took for at, took in latencies if started - 0.5 <= at <= finished]
    before = [took for at, took in latencies if at < started - 0.5]
    return result, finished - started, during, before


# --- the run ---------------------------------------------------------------------------------------
def main() -> int:
    with kept_database(
        os.environ.get("BENCH_REQUESTLOG_DATABASE", "statuspool_bench_requestlog")
    ) as name:
        if name is None:
            return _refuse(
                "needs PostgreSQL: set DATABASE_URL=postgres://… (the request log is only "
                "partitioned there, and SQLite cannot show what 10 million rows cost)."
            )
        return _benchmark(name)


def _benchmark(name: str) -> int:
    from django.core.management import call_command
    from django.db.models import Sum

    from usage import partitions, retention
    from usage.models import DailyUsage, HourlyUsage, RequestLog

    call_command("migrate", verbosity=0)
    if not partitions.is_partitioned():
        return _refuse("the request log is not partitioned after migrate")
    owner, keys = _fixtures()
    loaded = RequestLog.objects.count()
    if loaded < ROWS or os.environ.get("BENCH_REQUESTLOG_RELOAD"):
        started = time.perf_counter()
        _load(keys)
        loaded = RequestLog.objects.count()
        print(f"Loaded {loaded:,} request-log rows in {time.perf_counter() - started:.0f} s.")
    else:
        print(f"Reusing the {loaded:,} request-log rows already in database {name!r}.")
    rolled = DailyUsage.objects.aggregate(total=Sum("requests"))["total"] or 0
    if rolled != loaded:
        started = time.perf_counter()
        _roll_up_all()
        rolled = DailyUsage.objects.aggregate(total=Sum("requests"))["total"] or 0
        print(f"Rolled up in {time.perf_counter() - started:.0f} s.")
    print(
        f"Daily rollups count {rolled:,} requests of {loaded:,} rows; "
        f"{HourlyUsage.objects.count():,} hourly rows (the last "
        f"{retention.HOURLY_ROLLUPS_KEPT.days} days); {len(partitions.partitions())} partitions."
    )

    busy = keys[0]
    results = {}
    for label, call in _chart_calls(busy, owner).items():
        results[label] = (*_p50_p95(call), CHART_P95_MS)
    for label, call in _search_calls(busy, owner).items():
        results[label] = (*_p50_p95(call), SEARCH_P95_MS)
    rates = _flush_rate(keys)
    purge, purge_seconds, during, before = _purge_month(keys)

    print(f"\n{'measure (busiest key: ' + f'{busy.name})':<52} {'p50':>9} {'p95':>9} {'target':>9}")
    failed = []
    for label, (p50, p95, target) in results.items():
        ok = p95 <= target
        failed += [] if ok else [label]
        print(
            f"{label:<52} {p50:>6.1f} ms {p95:>6.1f} ms {'≤ ' + str(target) + ' ms':>9} {'ok' if ok else 'OVER'}"
        )
    rate = statistics.median(rates)
    ok = rate >= FLUSH_ROWS_PER_S
    failed += [] if ok else ["flush"]
    print(
        f"{'flush incl. rollups, rows/s (median; min)':<52} {rate:>9,.0f} {min(rates):>9,.0f} "
        f"{'≥ 20,000':>9} {'ok' if ok else 'UNDER'}"
    )
    lock = purge.longest_lock_seconds
    ok = lock < PURGE_LOCK_S and not purge.busy and len(purge.dropped) == 1
    failed += [] if ok else ["purge"]
    print(
        f"{'month purge: longest lock held (DETACH/DROP)':<52} {lock * 1000:>6.1f} ms {'':>9} "
        f"{'< 1 s':>9} {'ok' if ok else 'OVER'}"
    )
    print(
        f"{f'  inserts meanwhile: slowest of {len(during)} (before: of {len(before)})':<52} "
        f"{max(during, default=0) * 1000:>6.1f} ms {max(before, default=0) * 1000:>6.1f} ms"
    )
    print(
        f"{'  dropped ' + ', '.join(purge.dropped) + f' ({purge.rows_dropped:,} rows) in':<52} "
        f"{purge_seconds * 1000:>6.0f} ms"
    )
    print(
        f"\n{RUNS} runs each after {WARMUP} warm-up runs; flush: {FLUSH_ROUNDS} rounds of "
        f"{FLUSH_ENTRIES:,} entries; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs."
    )
    if failed:
        print("Missed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
