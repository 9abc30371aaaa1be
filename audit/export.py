"""CSV and JSON Lines renderings of audit events and request-log rows, produced row by row.

The dashboard streams them (StreamingHttpResponse over ``.iterator()``), the export command writes
them to stdout: neither ever holds a whole export in memory.
"""

import csv
import json

from audit.models import canonical_time

EVENT_COLUMNS = [
    "id",
    "occurred_at",
    "actor_email",
    "actor_kind",
    "actor_label",
    "ip",
    "user_agent",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "details",
    "prev_hash",
    "hash",
]
REQUEST_COLUMNS = [
    "occurred_at",
    "credential_kind",
    "credential_id",
    "credential_label",
    "method",
    "path",
    "status",
    "ip",
    "country",
    "user_agent",
    "duration_ms",
]
# A cell starting with one of these is a formula to a spreadsheet; user agents and labels come
# from outside, so they are defused with a leading apostrophe (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def event_record(event) -> dict:
    return {
        "id": event.id,
        "occurred_at": canonical_time(event.occurred_at),
        "actor_email": event.actor_email,
        "actor_kind": event.actor_kind,
        "actor_label": event.actor_label,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def request_record(row) -> dict:
    record = {column: getattr(row, column) for column in REQUEST_COLUMNS}
    record["occurred_at"] = canonical_time(row.occurred_at)
    return record


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"))
    value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


class _Line:
    """A file-like object that hands back what csv.writer writes."""

    def write(self, value):
        return value


def csv_lines(rows, columns, to_record):
    writer = csv.writer(_Line())
    yield writer.writerow(columns)
    for row in rows:
        record = to_record(row)
        yield writer.writerow([_cell(record[column]) for column in columns])


def jsonl_lines(rows, to_record):
    for row in rows:
        yield json.dumps(to_record(row), separators=(",", ":"), default=str) + "\n"
