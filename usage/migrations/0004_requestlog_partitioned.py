# On PostgreSQL the request log becomes a table partitioned by month of occurred_at (issue 13,
# item 6): retention then drops whole months (usage.partitions) instead of deleting rows.
#
# Only the database changes; Django's model state does not (SQLite keeps the plain table, and
# the model still declares id as the primary key and entry_id as unique). On PostgreSQL a
# partitioned table's unique constraints must contain the partition key, so the primary key is
# (id, occurred_at) and entry_id's constraint is (entry_id, occurred_at) under its old name: a
# buffer entry always carries the same time, so a duplicate entry still conflicts, and the
# flush's ignore_conflicts still drops it.
#
# Consequences for later migrations of this model on PostgreSQL: a new unique field or
# constraint must include occurred_at, AddIndexConcurrently is refused (CREATE INDEX on the
# parent builds every partition's index; it locks writes for that time), and new columns and
# plain indexes work as usual.
#
# The whole table is rewritten under an exclusive lock: request-log flushes wait (their entries
# stay buffered) while the migration runs.
from datetime import UTC, datetime

from django.db import migrations

TABLE = "usage_requestlog"
OLD = "usage_requestlog_unpartitioned"
PARTITIONED = "usage_requestlog_partitioned"
DEFAULT = "usage_requestlog_default"
SEQUENCE = "usage_requestlog_id_seq"
PRIMARY_KEY = "usage_requestlog_pkey"
MONTHS_AHEAD = 3


def _month_after(start):
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def _is_partitioned(cursor):
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [TABLE])
    return cursor.fetchone()[0] == "p"


def _plain_indexes(cursor, table):
    """(name, CREATE INDEX …) of every index that backs no constraint."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        [table],
    )
    # A partitioned table's index definition reads "ON ONLY table"; recreated on a plain one.
    return [(name, definition.replace(" ON ONLY ", " ON ")) for name, definition in cursor.fetchall()]


def _constraints(cursor, table, kind):
    """(name, [column, …]) of the table's constraints of one kind ('p', 'u')."""
    cursor.execute(
        """
        SELECT c.conname, array_agg(a.attname ORDER BY k.position)
        FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = %s::regclass AND c.contype = %s
        GROUP BY c.conname ORDER BY c.conname
        """,
        [table, kind],
    )
    return cursor.fetchall()


def _foreign_keys(cursor, table):
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
        [table],
    )
    return cursor.fetchall()


def _next_id(cursor, sequence):
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # nosec B608  # a sequence name from the catalogue
    last_value, is_called = cursor.fetchone()
    return last_value + 1 if is_called else last_value


def _columns(cursor, table):
    cursor.execute(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [table],
    )
    return cursor.fetchone()[0]


def _strip_table_constraints(cursor, table):
    """Drop the table's indexes and key constraints, returning what recreates them elsewhere."""
    indexes = _plain_indexes(cursor, table)
    uniques = _constraints(cursor, table, "u")
    foreign_keys = _foreign_keys(cursor, table)
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    for name, _ in [*uniques, *_constraints(cursor, table, "p")]:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return indexes, uniques, foreign_keys


def _literal(moment):
    return f"'{moment.isoformat()}'"


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        if _is_partitioned(cursor):
            return
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
        next_id = _next_id(cursor, cursor.fetchone()[0])
        indexes, uniques, foreign_keys = _strip_table_constraints(cursor, TABLE)
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(f"ALTER TABLE {OLD} ALTER COLUMN id DROP IDENTITY IF EXISTS")  # its sequence
        # Same columns, NOT NULLs and CHECKs; the identity of id becomes a sequence of its own
        # (PostgreSQL 15 has no identity columns on partitioned tables), continuing the old one.
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING CONSTRAINTS) PARTITION BY RANGE (occurred_at)"
        )
        cursor.execute(f"CREATE SEQUENCE {SEQUENCE} OWNED BY {TABLE}.id")
        cursor.execute("SELECT setval(%s, %s, false)", [SEQUENCE, next_id])
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}')")
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {PRIMARY_KEY} PRIMARY KEY (id, occurred_at)")
        for name, columns in uniques:
            keyed = ", ".join(f'"{column}"' for column in [*columns, "occurred_at"])
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" UNIQUE ({keyed})')
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)  # declared on the parent: every partition gets its own
        cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")

        cursor.execute(f"SELECT DISTINCT date_trunc('month', occurred_at, 'UTC') FROM {OLD}")  # nosec B608  # table names are this migration's constants
        months = {row[0].astimezone(UTC) for row in cursor.fetchall()}
        start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for _ in range(MONTHS_AHEAD + 1):
            months.add(start)
            start = _month_after(start)
        for month in sorted(months):
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{month:%Y%m} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ({_literal(month)}) TO ({_literal(_month_after(month))})"
            )
        columns = _columns(cursor, OLD)
        cursor.execute(f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {OLD}")  # nosec B608  # table names are this migration's constants
        cursor.execute(f"DROP TABLE {OLD}")
        cursor.execute(f"ANALYZE {TABLE}")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        if not _is_partitioned(cursor):
            return
        next_id = _next_id(cursor, SEQUENCE)
        indexes, uniques, foreign_keys = _strip_table_constraints(cursor, TABLE)
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {PARTITIONED}")
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {PARTITIONED} INCLUDING CONSTRAINTS)")
        columns = _columns(cursor, PARTITIONED)
        cursor.execute(f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {PARTITIONED}")  # nosec B608  # table names are this migration's constants
        cursor.execute(f"DROP TABLE {PARTITIONED}")  # its partitions and its sequence with it
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), %s, false)", [next_id])
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {PRIMARY_KEY} PRIMARY KEY (id)")
        for name, columns in uniques:
            unkeyed = ", ".join(f'"{column}"' for column in columns if column != "occurred_at")
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" UNIQUE ({unkeyed})')
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)


class Migration(migrations.Migration):

    dependencies = [
        ("usage", "0003_rollups"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
