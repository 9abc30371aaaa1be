"""Keyset pagination on (occurred_at, id), newest first, for the dashboard's long lists.

A page is found by an index range scan from its cursor, so the millionth row costs what the first
does (no OFFSET). The condition is written as ``occurred_at <= t AND (occurred_at < t OR id < i)``
rather than as a plain OR, so PostgreSQL can start the index scan at ``t``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q

PAGE_SIZE = 50


def encode(row) -> str:
    stamp = row.occurred_at.astimezone(UTC)
    micros = int(stamp.timestamp()) * 1_000_000 + stamp.microsecond
    return f"{micros}-{row.id}"


def decode(cursor: str | None):
    """(occurred_at, id) from a cursor; None for a missing or garbled one (→ first page)."""
    if not cursor:
        return None
    try:
        micros, row_id = (int(part) for part in cursor.split("-", 1))
        seconds, rest = divmod(micros, 1_000_000)
        return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest), row_id
    except (ValueError, OverflowError, OSError):
        return None


@dataclass
class Page:
    rows: list
    older: str | None  # cursor for ?before=
    newer: str | None  # cursor for ?after=


def older_than(queryset, position):
    stamp, row_id = position
    return queryset.filter(occurred_at__lte=stamp).filter(
        Q(occurred_at__lt=stamp) | Q(id__lt=row_id)
    )


def newer_than(queryset, position):
    stamp, row_id = position
    return queryset.filter(occurred_at__gte=stamp).filter(
        Q(occurred_at__gt=stamp) | Q(id__gt=row_id)
    )


def paginate(queryset, *, before: str | None = None, after: str | None = None, size=PAGE_SIZE):
    after_position = decode(after)
    if after_position is not None:
        rows = list(newer_than(queryset, after_position).order_by("occurred_at", "id")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows, encode(rows[-1]) if rows else None, encode(rows[0]) if has_newer else None
        )
    before_position = decode(before)
    if before_position is not None:
        queryset = older_than(queryset, before_position)
    rows = list(queryset.order_by("-occurred_at", "-id")[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    newer = encode(rows[0]) if rows and before_position is not None else None
    return Page(rows, encode(rows[-1]) if has_older else None, newer)
