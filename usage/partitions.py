"""Monthly partitions of the request log on PostgreSQL (migration usage/0004).

``usage_requestlog`` is partitioned by RANGE (occurred_at): one table per calendar month (UTC),
``usage_requestlog_pYYYYMM``, and a DEFAULT partition that catches rows of a month nobody created
a partition for (beat down for months, a clock far off). Retention then removes a month by
detaching and dropping its table, a catalogue change, instead of deleting its rows one by one.

- ``ensure_partitions`` (daily beat task, after ``migrate``, on worker start) creates the current
  month and the next ones. A month whose rows already landed in the default partition gets its
  partition too: the rows are moved into a new table which is then attached, so the default
  partition is empty again after every run.
- ``drop_expired`` detaches and drops every partition whose whole month lies before the
  retention cutoff, and deletes the older rows of the one month straddling the cutoff (and any in
  the default partition) in short batches.

Locks: ``DETACH PARTITION … CONCURRENTLY`` is refused on a table with a default partition, so a
plain DETACH is used; it takes an ACCESS EXCLUSIVE lock on the parent for the few milliseconds of
the catalogue change. Every statement here that locks the parent or the default partition runs
with ``lock_timeout`` (it never queues long behind a running query, which would stall the
queries queued behind it) and ``statement_timeout`` (it never holds the lock over a second); a
partition it could not lock is left for the next run and reported as ``busy``. ATTACH PARTITION
takes a SHARE UPDATE EXCLUSIVE lock on the parent (reads and inserts go on) and scans the default
partition, which is empty or small.

Everything here is PostgreSQL only; on SQLite (the embedded default) ``is_partitioned`` is false
and ``usage.retention`` deletes in batches.
"""

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import OperationalError, connection, transaction
from django.utils import timezone

logger = logging.getLogger("statuspool.usage.partitions")

PARENT = "usage_requestlog"
DEFAULT = f"{PARENT}_default"
MONTHS_AHEAD = 3
# How long a partition change may wait for its lock, and hold it at most (the statement).
LOCK_TIMEOUT_MS = 200
STATEMENT_TIMEOUT_MS = 1000
# Tries per partition before leaving it for the next run, and the pause between them.
ATTEMPTS = 3
PAUSE_SECONDS = 0.5
DELETE_BATCH = 5000

_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime | None  # None for the default partition
    end: datetime | None

    @property
    def is_default(self) -> bool:
        return self.start is None


@dataclass
class DropResult:
    dropped: list[str] = field(default_factory=list)  # partitions detached and dropped
    rows_dropped: int = 0  # rows those partitions held
    rows_deleted: int = 0  # rows deleted in batches (straddling month, default partition)
    busy: list[str] = field(default_factory=list)  # partitions left for the next run (locks)
    longest_lock_seconds: float = 0.0  # longest DETACH or DROP transaction, wait included

    @property
    def rows(self) -> int:
        return self.rows_dropped + self.rows_deleted


class PartitionBusy(Exception):
    """A partition change did not get its lock within LOCK_TIMEOUT_MS, ATTEMPTS times."""


# --- months ----------------------------------------------------------------------------------------
def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_p{start:%Y%m}"


# --- what exists -----------------------------------------------------------------------------------
def is_partitioned(using=None) -> bool:
    """True on PostgreSQL once migration usage/0004 made the request log a partitioned table."""
    db = using or connection
    if db.vendor != "postgresql":
        return False
    with db.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partitions() -> list[Partition]:
    """The request log's partitions, oldest first, the default partition last."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = %s::regclass
            """,
            [PARENT],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound)
        if match is None:  # "DEFAULT"
            found.append(Partition(name, None, None))
        else:
            start, end = (datetime.fromisoformat(value).astimezone(UTC) for value in match.groups())
            found.append(Partition(name, start, end))
    return sorted(found, key=lambda p: (p.is_default, p.start or datetime.min.replace(tzinfo=UTC)))


def _detached_leftovers() -> list[Partition]:
    """Month tables no longer attached: a drop that got its DETACH but not its DROP."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
            "AND relnamespace = current_schema()::regnamespace AND relname ~ %s",
            [rf"^{PARENT}_p[0-9]{{6}}$"],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        start = datetime.strptime(name[-6:], "%Y%m").replace(tzinfo=UTC)
        found.append(Partition(name, start, add_months(start, 1)))
    return found


@contextmanager
def _one_run_at_a_time() -> Iterator[bool]:
    """A session advisory lock: a second ensure/drop (migrate, worker start and beat may meet)
    does nothing instead of racing for the same table names."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_ADVISORY_KEY])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_KEY])


_ADVISORY_KEY = 0x5EC0_1060  # this module's, among the application's advisory locks


def row_estimates() -> dict[str, int]:
    """Rows per partition as the planner's statistics have them (-1: never analysed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        return dict(cursor.fetchall())


# --- locks -----------------------------------------------------------------------------------------
@contextmanager
def _bounded_locks(cursor, *, statement_timeout: bool = True) -> Iterator[None]:
    """Inside the current transaction: wait LOCK_TIMEOUT_MS for a lock and (``statement_timeout``)
    run a statement at most STATEMENT_TIMEOUT_MS. Put back afterwards, so a caller's own
    transaction (a test's) keeps its settings."""
    cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
    previous = cursor.fetchone()
    limits = [
        f"{LOCK_TIMEOUT_MS}ms",
        f"{STATEMENT_TIMEOUT_MS}ms" if statement_timeout else previous[1],
    ]
    cursor.execute(_SET_LIMITS, limits)
    yield
    cursor.execute(_SET_LIMITS, list(previous))


_SET_LIMITS = (
    "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)"
)


def _is_lock_timeout(error: OperationalError) -> bool:
    # 55P03 lock_not_available (lock_timeout), 57014 query_canceled (statement_timeout).
    return getattr(error.__cause__, "sqlstate", None) in {"55P03", "57014"}


def _with_short_locks(statements: list[str], label: str) -> float:
    """Run ``statements`` in one transaction with bounded locks, retrying a lock timeout;
    returns the transaction's duration (lock wait included). Raises PartitionBusy."""
    for attempt in range(1, ATTEMPTS + 1):
        started = time.perf_counter()
        try:
            with transaction.atomic(), connection.cursor() as cursor, _bounded_locks(cursor):
                for statement in statements:
                    cursor.execute(statement)
            return time.perf_counter() - started
        except OperationalError as error:
            if not _is_lock_timeout(error):
                raise
            logger.warning(
                "request log partitions: %s waited too long for a lock (try %d)", label, attempt
            )
            if attempt < ATTEMPTS:
                time.sleep(PAUSE_SECONDS * attempt)
    raise PartitionBusy(label)


# --- creating ahead --------------------------------------------------------------------------------
def _literal(moment: datetime) -> str:
    return f"'{moment.isoformat()}'"  # from a datetime we built, never from input


def _create(start: datetime, *, move_from_default: bool) -> None:
    """Create one month's partition: a table of its own, filled from the default partition if
    rows of that month landed there, then attached (ATTACH locks the parent only in SHARE UPDATE
    EXCLUSIVE mode; CREATE TABLE … PARTITION OF would take ACCESS EXCLUSIVE)."""
    name, end = partition_name(start), add_months(start, 1)
    low, high = _literal(start), _literal(end)
    statements = [
        f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING CONSTRAINTS)",
        # Proves the range to ATTACH, which then need not scan the new table.
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_range "
        f"CHECK (occurred_at >= {low} AND occurred_at < {high})",
    ]
    if move_from_default:
        # New rows of that month wait (lock) instead of landing in the default behind our back.
        statements += [
            f"LOCK TABLE {DEFAULT} IN EXCLUSIVE MODE",
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE occurred_at >= {low} "  # noqa: S608  # nosec B608  # literals we built
            f"AND occurred_at < {high} RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        ]
    statements += [
        f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})",
        f"ALTER TABLE {name} DROP CONSTRAINT {name}_range",  # implied by the partition bound now
    ]
    if move_from_default:
        # Moving is not bounded by a second: it takes as long as the rows that piled up.
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            _bounded_locks(cursor, statement_timeout=False),
        ):
            for statement in statements:
                cursor.execute(statement)
    else:
        _with_short_locks(statements, f"create {name}")


def _months_in_default() -> list[datetime]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', occurred_at, 'UTC') FROM {DEFAULT}"  # noqa: S608  # nosec B608  # constant name
        )
        return sorted(month_start(row[0]) for row in cursor.fetchall())


def ensure_partitions(
    months_ahead: int = MONTHS_AHEAD, *, now: datetime | None = None
) -> list[str]:
    """Create this month's partition and ``months_ahead`` more, and one for every month whose
    rows sit in the default partition (moving them). Idempotent; returns the names created."""
    if not is_partitioned():
        return []
    with _one_run_at_a_time() as alone:
        if not alone:
            logger.info("request log partitions: another run is under way")
            return []
        return _ensure(months_ahead, now)


def _ensure(months_ahead: int, now: datetime | None) -> list[str]:
    existing = {p.start for p in partitions() if not p.is_default}
    in_default = set(_months_in_default())
    this_month = month_start(now or timezone.now())
    wanted = {add_months(this_month, offset) for offset in range(months_ahead + 1)} | in_default
    created = []
    for start in sorted(wanted - existing):
        _create(start, move_from_default=start in in_default)
        created.append(partition_name(start))
        logger.info("request log: created partition %s", partition_name(start))
    return created


# --- retention ---------------------------------------------------------------------------------------
def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  # nosec B608  # a partition's name
        return cursor.fetchone()[0]


def _delete_batches(table: str, cutoff: datetime, batch_size: int, progress=None) -> int:
    total = 0
    while True:
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            _bounded_locks(cursor, statement_timeout=False),
        ):
            cursor.execute(
                f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("  # noqa: S608  # nosec B608  # a partition's name
                f"SELECT ctid FROM {table} WHERE occurred_at < %s LIMIT %s))",
                [cutoff, batch_size],
            )
            deleted = cursor.rowcount
        total += deleted
        if progress is not None:
            progress.update(deleted)
        if deleted < batch_size:
            return total


def drop_expired(cutoff: datetime, *, batch_size: int = DELETE_BATCH, progress=None) -> DropResult:
    """Remove every request-log row older than ``cutoff``: whole months by DETACH + DROP, the
    month straddling the cutoff and the default partition by batched deletes."""
    result = DropResult()
    with _one_run_at_a_time() as alone:
        if not alone:
            result.busy.append(PARENT)
            return result
        for leftover in _detached_leftovers():
            if leftover.end <= cutoff:
                _drop_detached(leftover, result, progress)
        for part in partitions():
            if part.is_default or part.start >= cutoff:
                continue
            if part.end > cutoff:  # straddles the cutoff: only its older rows go
                result.rows_deleted += _delete_batches(part.name, cutoff, batch_size, progress)
                continue
            try:
                detach = f"ALTER TABLE {PARENT} DETACH PARTITION {part.name}"
                held = _with_short_locks([detach], f"detach {part.name}")
            except PartitionBusy:
                result.busy.append(part.name)
                continue
            result.longest_lock_seconds = max(result.longest_lock_seconds, held)
            _drop_detached(part, result, progress)
        result.rows_deleted += _delete_batches(DEFAULT, cutoff, batch_size, progress)
    return result


def _drop_detached(part: Partition, result: DropResult, progress) -> None:
    # Detached, it is a table of its own: counting and dropping it locks nothing of the log.
    rows = _count(part.name)
    try:
        held = _with_short_locks([f"DROP TABLE {part.name}"], f"drop {part.name}")
    except PartitionBusy:
        result.busy.append(part.name)  # dropped by the next run (_detached_leftovers)
        return
    result.longest_lock_seconds = max(result.longest_lock_seconds, held)
    result.dropped.append(part.name)
    result.rows_dropped += rows
    if progress is not None:
        progress.update(rows)
    logger.info("request log: dropped partition %s (%d rows)", part.name, rows)
