"""The request log's monthly partitions on PostgreSQL (usage/partitions.py, migration 0004)."""

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from types import SimpleNamespace

import psycopg
import pytest
from celery.exceptions import Retry
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from usage import partitions, requestlog, retention
from usage.models import RequestLog
from usage.tasks import purge_expired

postgres = pytest.mark.postgres  # the others run on SQLite too (the embedded default)

PARTITIONING = ("usage", "0004_requestlog_partitioned")


def row(account, at, **fields):
    return RequestLog.objects.create(
        occurred_at=at,
        account=account,
        credential_kind="api_key",
        credential_id=fields.pop("credential_id", 1),
        method="GET",
        path="/v2/monitors",
        status=fields.pop("status", 200),
        **fields,
    )


def partition_of(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM usage_requestlog WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def names() -> list[str]:
    return [p.name for p in partitions.partitions()]


def _relkind() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'usage_requestlog'::regclass")
        return cursor.fetchone()[0]


@pytest.fixture
def kept_partitions(transactional_db):
    """Partitions are tables, not rows: a transactional test's new ones are dropped after it,
    and the ones it dropped are created again."""
    before = set(names())
    yield
    with connection.cursor() as cursor:
        for name in set(names()) - before:
            cursor.execute(f"DROP TABLE {name}")
    partitions.ensure_partitions()
    assert set(names()) == before


# --- the migration -----------------------------------------------------------------------------
@postgres
def test_migration_partitions_a_table_with_rows_and_back(kept_partitions, account_a):
    executor = MigrationExecutor(connection)
    before = [dep for dep in executor.loader.get_migration(*PARTITIONING).dependencies]
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    assert _relkind() == "r"
    OldRequestLog = executor.loader.project_state(before).apps.get_model("usage", "RequestLog")
    entry = uuid.uuid4()
    old = [
        OldRequestLog.objects.create(
            occurred_at=at,
            account_id=account_a.pk,
            credential_kind="api_key",
            credential_id=7,
            method="GET",
            path="/v2/monitors",
            status=200,
            entry_id=entry if index == 0 else uuid.uuid4(),
        )
        for index, at in enumerate(
            [datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 4, 30, 23, 59, tzinfo=UTC)]
        )
    ]

    MigrationExecutor(connection).migrate(leaves)

    assert _relkind() == "p"
    assert {partition_of(r.pk) for r in old} == {
        "usage_requestlog_p202603",
        "usage_requestlog_p202604",
    }
    this_month = partitions.month_start(timezone.now())
    for offset in range(partitions.MONTHS_AHEAD + 1):
        assert partitions.partition_name(partitions.add_months(this_month, offset)) in names()
    assert "usage_requestlog_default" in names()
    # Ids survive and the sequence continues after them.
    assert sorted(RequestLog.objects.values_list("id", flat=True)) == sorted(r.pk for r in old)
    newer = row(account_a, timezone.now())
    assert newer.pk > max(r.pk for r in old)
    # The same buffer entry (same id, same time) is still refused, silently by the flush.
    duplicate = RequestLog(
        entry_id=entry,
        occurred_at=old[0].occurred_at,
        account_id=account_a.pk,
        credential_kind="api_key",
        credential_id=7,
        method="GET",
        path="/v2/monitors",
        status=200,
    )
    RequestLog.objects.bulk_create([duplicate], ignore_conflicts=True)
    assert RequestLog.objects.filter(entry_id=entry).count() == 1

    # Reverse: a plain table again, with every row and the sequence where it was.
    MigrationExecutor(connection).migrate(before)
    assert _relkind() == "r"
    assert OldRequestLog.objects.count() == 3
    again = OldRequestLog.objects.create(
        occurred_at=timezone.now(),
        account_id=account_a.pk,
        credential_kind="api_key",
        credential_id=7,
        method="GET",
        path="/v2/monitors",
        status=200,
    )
    assert again.pk > newer.pk
    MigrationExecutor(connection).migrate(leaves)
    assert _relkind() == "p" and RequestLog.objects.count() == 4


def test_the_migration_does_nothing_on_sqlite():
    from importlib import import_module

    migration = import_module("usage.migrations.0004_requestlog_partitioned")

    class NoCursor:
        vendor = "sqlite"

        def cursor(self):
            raise AssertionError("the migration must not touch SQLite")

    editor = SimpleNamespace(connection=NoCursor())
    migration.partition(None, editor)
    migration.unpartition(None, editor)
    assert partitions.is_partitioned(NoCursor()) is False


# --- creating ahead ------------------------------------------------------------------------------
@postgres
def test_ensure_partitions_is_idempotent(db):
    now = datetime(2030, 11, 20, tzinfo=UTC)
    created = partitions.ensure_partitions(3, now=now)
    assert created == [
        "usage_requestlog_p203011",
        "usage_requestlog_p203012",
        "usage_requestlog_p203101",
        "usage_requestlog_p203102",
    ]
    assert partitions.ensure_partitions(3, now=now) == []
    feb = next(p for p in partitions.partitions() if p.name == "usage_requestlog_p203102")
    assert (feb.start, feb.end) == (
        datetime(2031, 2, 1, tzinfo=UTC),
        datetime(2031, 3, 1, tzinfo=UTC),
    )


@postgres
def test_a_row_for_next_month_lands_in_its_partition(account_a):
    next_month = partitions.add_months(partitions.month_start(timezone.now()), 1)
    later = row(account_a, next_month + timedelta(days=2))
    assert partition_of(later.pk) == partitions.partition_name(next_month)
    now = row(account_a, timezone.now())
    assert partition_of(now.pk) == partitions.partition_name(
        partitions.month_start(now.occurred_at)
    )


@postgres
def test_after_a_beat_outage_rows_wait_in_default_and_move_into_their_month(account_a):
    # Beat stopped in 2031-01: nothing was created for the months after.
    partitions.ensure_partitions(0, now=datetime(2031, 1, 5, tzinfo=UTC))
    stranded = [
        row(account_a, datetime(2031, 3, 2, 8, tzinfo=UTC)),
        row(account_a, datetime(2031, 3, 31, 23, 59, tzinfo=UTC)),
        row(account_a, datetime(2031, 5, 10, tzinfo=UTC)),
    ]
    assert {partition_of(r.pk) for r in stranded} == {"usage_requestlog_default"}

    created = partitions.ensure_partitions(1, now=datetime(2031, 5, 12, tzinfo=UTC))

    assert created == [
        "usage_requestlog_p203103",
        "usage_requestlog_p203105",
        "usage_requestlog_p203106",
    ]
    assert [partition_of(r.pk) for r in stranded] == [
        "usage_requestlog_p203103",
        "usage_requestlog_p203103",
        "usage_requestlog_p203105",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM usage_requestlog_default")
        assert cursor.fetchone()[0] == 0
    # The moved month behaves like any other: new rows go there, the next run changes nothing.
    assert partition_of(row(account_a, datetime(2031, 3, 15, tzinfo=UTC)).pk).endswith("203103")
    assert partitions.ensure_partitions(1, now=datetime(2031, 5, 12, tzinfo=UTC)) == []


@postgres
def test_flush_still_keeps_one_row_per_entry(account_a):
    entry = {
        "u": uuid.uuid4().hex,
        "t": timezone.now().isoformat(),
        "a": account_a.pk,
        "k": "api_key",
        "c": 3,
        "m": "GET",
        "p": "/v2/monitors",
        "s": 200,
    }
    line = json.dumps(entry)
    requestlog.buffer.spool_append(f"{line}\n{line}\n".encode())
    requestlog.flush()
    requestlog.buffer.spool_append(f"{line}\n".encode())  # and once more, in a later flush
    requestlog.flush()
    assert RequestLog.objects.filter(entry_id=entry["u"]).count() == 1


# --- retention -------------------------------------------------------------------------------------
@postgres
def test_drop_expired_drops_whole_months_and_deletes_the_straddling_one_in_batches(account_a):
    partitions.ensure_partitions(3, now=datetime(2025, 1, 10, tzinfo=UTC))
    january = row(account_a, datetime(2025, 1, 10, tzinfo=UTC))
    february = row(account_a, datetime(2025, 2, 10, tzinfo=UTC))
    march_old = [row(account_a, datetime(2025, 3, day, tzinfo=UTC)) for day in (1, 5, 9)]
    march_kept = row(account_a, datetime(2025, 3, 20, tzinfo=UTC))
    april = row(account_a, datetime(2025, 4, 2, tzinfo=UTC))
    in_default = row(account_a, datetime(2024, 6, 1, tzinfo=UTC))  # a month with no partition
    assert partition_of(in_default.pk) == "usage_requestlog_default"

    with CaptureQueriesContext(connection) as queries:
        result = partitions.drop_expired(datetime(2025, 3, 15, tzinfo=UTC), batch_size=2)

    assert result.dropped == ["usage_requestlog_p202501", "usage_requestlog_p202502"]
    assert (result.rows_dropped, result.rows_deleted, result.busy) == (2, 4, [])
    assert 0 < result.longest_lock_seconds < 1
    assert "usage_requestlog_p202501" not in names()
    assert set(RequestLog.objects.values_list("id", flat=True)) >= {march_kept.pk, april.pk}
    gone = [january, february, *march_old, in_default]
    assert not RequestLog.objects.filter(id__in=[r.pk for r in gone]).exists()
    sql = [q["sql"] for q in queries.captured_queries]
    # March was not detached: its three old rows went in batches of 2 (2 + 1).
    assert not any("DETACH PARTITION usage_requestlog_p202503" in s for s in sql)
    assert sum(s.startswith("DELETE FROM usage_requestlog_p202503") for s in sql) == 2
    assert all("lock_timeout" in sql[i - 1] for i, s in enumerate(sql) if "DETACH" in s)


@postgres
def test_the_retention_job_uses_partitions_on_postgresql(account_a):
    partitions.ensure_partitions(0, now=datetime(2024, 2, 10, tzinfo=UTC))
    old = row(account_a, datetime(2024, 2, 10, tzinfo=UTC))
    kept = row(account_a, timezone.now())
    result = retention.retention_purge_expired()
    assert result.requests == 1 and result.busy == ()
    assert list(RequestLog.objects.values_list("id", flat=True)) == [kept.pk]
    assert "usage_requestlog_p202402" not in names()
    assert not RequestLog.objects.filter(pk=old.pk).exists()


def test_without_partitions_the_purge_deletes_in_batches(account_a, monkeypatch):
    """SQLite (the embedded default) has no partitions: the same purge deletes rows in batches."""
    monkeypatch.setattr(partitions, "is_partitioned", lambda using=None: False)
    for hours in range(5):
        row(account_a, datetime(2020, 5, 1, tzinfo=UTC) + timedelta(hours=hours))
    kept = row(account_a, timezone.now())
    with CaptureQueriesContext(connection) as queries:
        deleted, busy = retention.purge_request_log(
            cutoff=datetime(2021, 1, 1, tzinfo=UTC), batch_size=2
        )
    assert (deleted, busy) == (5, ())
    assert list(RequestLog.objects.all()) == [kept]
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "DETACH" not in sql and sql.count("DELETE FROM") == 3


def test_a_busy_purge_is_retried_later(monkeypatch):
    busy = retention.PurgeResult(events=0, requests=0, busy=("usage_requestlog_p202401",))
    monkeypatch.setattr(retention, "retention_purge_expired", lambda: busy)
    with pytest.raises(Retry):
        purge_expired()


def test_a_starting_worker_queues_the_partition_job(monkeypatch):
    from celery.signals import worker_ready

    from usage import tasks

    queued = []
    monkeypatch.setattr(tasks.ensure_request_log_partitions, "delay", lambda: queued.append(1))
    worker_ready.send(sender=None)
    assert queued == [1]


def test_the_daily_jobs_are_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["usage-ensure-request-log-partitions"]
    assert entry["task"] == "usage.tasks.ensure_request_log_partitions"
    assert entry["schedule"] == timedelta(days=1)


@postgres
def test_the_command_lists_and_ensures(db):
    out = StringIO()
    call_command("request_log_partitions", "--ensure", "--list", "--months-ahead", "5", stdout=out)
    this_month = partitions.month_start(timezone.now())
    fifth = partitions.partition_name(partitions.add_months(this_month, 5))
    text = out.getvalue()
    assert f"{fifth}" in text and "usage_requestlog_default" in text
    out = StringIO()
    call_command("request_log_partitions", "--ensure", "--months-ahead", "5", stdout=out)
    assert "Every partition already exists." in out.getvalue()


# --- locks ---------------------------------------------------------------------------------------
def _other_connection():
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    )


@postgres
def test_a_purge_behind_a_long_query_gives_up_quickly_and_is_retried(
    kept_partitions, account_a, monkeypatch
):
    monkeypatch.setattr(partitions, "PAUSE_SECONDS", 0.1)
    partitions.ensure_partitions(0, now=datetime(2023, 2, 10, tzinfo=UTC))
    old = row(account_a, datetime(2023, 2, 10, tzinfo=UTC))
    cutoff = datetime(2023, 3, 1, tzinfo=UTC)
    with _other_connection() as other:
        # A long report reading the log: its ACCESS SHARE lock lasts until it commits.
        other.execute("SELECT count(*) FROM usage_requestlog").fetchone()
        started = time.perf_counter()
        result = partitions.drop_expired(cutoff)
        waited = time.perf_counter() - started
        # The other session is still served meanwhile, and so is a new insert.
        other.execute("SELECT 1").fetchone()
        other.rollback()
    assert result.busy == ["usage_requestlog_p202302"] and result.dropped == []
    budget = partitions.ATTEMPTS * partitions.LOCK_TIMEOUT_MS / 1000 + 0.1 + 0.2
    assert waited < budget + 1  # three short waits, not a hang
    assert RequestLog.objects.filter(pk=old.pk).exists()

    later = partitions.drop_expired(cutoff)  # the retry, once the report finished
    assert later.dropped == ["usage_requestlog_p202302"] and later.busy == []
    assert not RequestLog.objects.filter(pk=old.pk).exists()


@postgres
def test_a_waiting_detach_never_stalls_inserts_for_long(kept_partitions, account_a, monkeypatch):
    """While a DETACH waits for its lock, inserts queue behind it: at most LOCK_TIMEOUT_MS."""
    monkeypatch.setattr(partitions, "ATTEMPTS", 1)
    partitions.ensure_partitions(0, now=datetime(2023, 5, 10, tzinfo=UTC))
    row(account_a, datetime(2023, 5, 10, tzinfo=UTC))
    insert_took = []
    with _other_connection() as reader, _other_connection() as writer:
        reader.execute("SELECT count(*) FROM usage_requestlog").fetchone()

        def insert():
            time.sleep(0.05)  # after the DETACH started waiting
            started = time.perf_counter()
            writer.execute(
                "INSERT INTO usage_requestlog (occurred_at, account_id, credential_kind, "
                "credential_id, credential_label, method, path, status, country, user_agent, "
                "duration_ms) VALUES (now(), %s, 'api_key', 1, '', 'GET', '/v2/x', 200, '', '', 1)",
                [account_a.pk],
            )
            writer.commit()
            insert_took.append(time.perf_counter() - started)

        thread = threading.Thread(target=insert)
        thread.start()
        result = partitions.drop_expired(datetime(2023, 6, 1, tzinfo=UTC))
        thread.join()
        reader.rollback()
    assert result.busy == ["usage_requestlog_p202305"]
    assert insert_took[0] < partitions.LOCK_TIMEOUT_MS / 1000 + 0.5


@postgres
def test_migrate_creates_missing_partitions(kept_partitions):
    last = partitions.add_months(partitions.month_start(timezone.now()), partitions.MONTHS_AHEAD)
    name = partitions.partition_name(last)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {name}")
    assert name not in names()
    call_command("migrate", verbosity=0)
    assert name in names()
