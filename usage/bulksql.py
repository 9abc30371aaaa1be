"""One set-based INSERT … ON CONFLICT for the flush's big batches, fast on PostgreSQL.

Django's ``bulk_create`` writes one ``%s`` per value: a 2,000-row batch of the request log is a
28,000-placeholder statement that psycopg re-parses on every call (it only caches short queries)
and whose values it adapts one by one, which cost more than the insert itself. On PostgreSQL
``upsert`` sends the whole batch as one JSON parameter instead, one array per column, ``INSERT …
SELECT v0::type, … FROM ROWS FROM (jsonb_array_elements_text(j -> 0), …)``: a short statement
whatever the batch size, the values encoded by the json module's C encoder and parsed by the
server. Elsewhere (SQLite) it
writes VALUES lists cut at the backend's parameter limit.

It can also add on conflict (``add=``: ``col = table.col + EXCLUDED.col``, the same syntax on both)
and return a column of the rows it really inserted (``returning=``, with ON CONFLICT DO NOTHING).
"""

import json

from django.db import connection


def upsert(
    model,
    columns: list[str],
    rows: list[tuple],
    *,
    conflict: tuple[str, ...] = (),
    replace: tuple[str, ...] = (),
    add: tuple[str, ...] = (),
    returning: str | None = None,
) -> list:
    """INSERT ``rows`` (tuples of Python values in ``columns`` order, attribute names; values
    the json module can encode, or whose str() PostgreSQL reads: datetime, UUID) into
    ``model``'s table. A row that conflicts (on ``conflict``, else on any unique constraint) is
    skipped, or updated: ``replace`` columns take the new value, ``add`` columns add it.
    Returns the ``returning`` column's values of the rows inserted or updated (else [])."""
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(f.column) for f in fields)
    updates = [f"{quote(c)} = EXCLUDED.{quote(c)}" for c in _columns(meta, replace)] + [
        f"{quote(c)} = {table}.{quote(c)} + EXCLUDED.{quote(c)}" for c in _columns(meta, add)
    ]
    if updates:
        target = ", ".join(quote(c) for c in _columns(meta, conflict))
        suffix = f" ON CONFLICT ({target}) DO UPDATE SET {', '.join(updates)}"  # nosec B608  # column names from model meta
    else:
        suffix = " ON CONFLICT DO NOTHING"
    if returning:
        suffix += f" RETURNING {quote(meta.get_field(returning).column)}"

    results = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Column-wise: one JSON array per column, no per-row dicts nor repeated keys to encode
            # (a third of the encoding time of json_to_recordset's objects); each element comes
            # back as text (NULL for null, a nested array/object as its JSON) and is cast. jsonb,
            # not json: the parameter is parsed once, where json re-parsed it for every column.
            values = ", ".join(
                f"v{index}::{field.db_type(connection)}" for index, field in enumerate(fields)
            )
            series = ", ".join(
                f"jsonb_array_elements_text(b.j -> {index})" for index in range(len(fields))
            )
            aliases = ", ".join(f"v{index}" for index in range(len(fields)))
            batch = json.dumps(list(zip(*rows, strict=True)), default=str)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {values} "  # noqa: S608  # nosec B608  # names from model meta, values are bound parameters
                f"FROM (SELECT %s::jsonb AS j) AS b, ROWS FROM ({series}) AS r({aliases}){suffix}",
                [batch],
            )
            if returning:
                results.extend(value for (value,) in cursor.fetchall())
            return results
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        size = max(1, connection.ops.bulk_batch_size(fields, rows))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608  # nosec B608  # names from model meta, values are bound parameters
                f"{', '.join([placeholder] * len(chunk))}{suffix}",
                [
                    field.get_db_prep_save(value, connection)
                    for row in chunk
                    for field, value in zip(fields, row, strict=True)
                ],
            )
            if returning:
                results.extend(value for (value,) in cursor.fetchall())
    return results


def _columns(meta, names) -> list[str]:
    return [meta.get_field(name).column for name in names]
