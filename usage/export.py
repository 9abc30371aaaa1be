"""Downloads of a request search: CSV or JSON Lines, streamed, newest first, at most EXPORT_LIMIT
rows.

Rows are read with ``.iterator(chunk_size=…)`` (a server-side cursor on PostgreSQL) and written as
they come, so an export never holds its rows in memory. Times are UTC ISO 8601; CSV cells that a
spreadsheet would run as a formula are defused (``audit.export``); paths were redacted when the
request was logged, and nothing else in a row is a secret.
"""

import csv
import json
from itertools import chain

from django.http import StreamingHttpResponse
from django.utils import timezone

from audit.export import REQUEST_COLUMNS, csv_lines, jsonl_lines, request_record

EXPORT_LIMIT = 100_000
CHUNK_SIZE = 2000
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def truncation_note(limit: int) -> str:
    return (
        f"Export stopped at {limit:,} rows (the newest of the search); "
        "narrow the time window or the filters to export the others."
    )


class _Capped:
    """The first ``limit`` rows; ``truncated`` tells, once they are read, whether more matched."""

    def __init__(self, rows, limit: int):
        self.rows, self.limit, self.truncated = rows, limit, False

    def __iter__(self):
        for number, row in enumerate(self.rows):
            if number == self.limit:
                self.truncated = True
                return
            yield row


class _Echo:
    def write(self, value):
        return value


def _csv_trailer(capped: _Capped):
    if capped.truncated:
        note = [f"# {truncation_note(capped.limit)}"] + [""] * (len(REQUEST_COLUMNS) - 1)
        yield csv.writer(_Echo()).writerow(note)


def _jsonl_trailer(capped: _Capped):
    if capped.truncated:
        note = {"truncated": True, "limit": capped.limit, "note": truncation_note(capped.limit)}
        yield json.dumps(note, separators=(",", ":")) + "\n"


def export_lines(queryset, fmt: str, *, limit: int | None = None):
    """The lines of the export of ``queryset`` (request-log rows) in ``fmt`` ("csv", "jsonl")."""
    limit = EXPORT_LIMIT if limit is None else limit
    rows = queryset.order_by("-occurred_at", "-id")[: limit + 1].iterator(chunk_size=CHUNK_SIZE)
    capped = _Capped(rows, limit)
    if fmt == "csv":
        return chain(csv_lines(capped, REQUEST_COLUMNS, request_record), _csv_trailer(capped))
    return chain(jsonl_lines(capped, request_record), _jsonl_trailer(capped))


def export_response(queryset, fmt: str, *, name: str) -> StreamingHttpResponse:
    """A download named ``<name>-<UTC date and time>.<fmt>``."""
    response = StreamingHttpResponse(export_lines(queryset, fmt), content_type=CONTENT_TYPES[fmt])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
