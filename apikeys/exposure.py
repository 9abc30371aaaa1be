"""Exposure review of one API key: its requests in a time window, narrowed by the request search's
filters (``usage.search``), and the incident-response steps of the documentation (revoke, replace
with the same scopes, review the window)."""

from dataclasses import dataclass
from datetime import UTC, timedelta
from urllib.parse import urlencode

from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, F, Value, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apikeys.models import Status
from statuspool import timefmt
from usage.search import RequestSearchForm, matching_condition


class ExposureSearchForm(RequestSearchForm):
    """The request search (``usage.search``) of one key; with no window chosen, its exposure:
    creation → revocation for a revoked key, creation → now else."""

    def __init__(self, data, *, key, now=None):
        self.key = key
        super().__init__(data, default_window=exposure_window(key), now=now)


def exposure_window(key):
    if key.status == Status.REVOKED and key.revoked_at:
        # Inclusive of a request authenticated in the very microsecond of the revocation.
        return key.created_at, key.revoked_at + timedelta(microseconds=1)
    return key.created_at, None


SUMMARY_CAP = 50_000


def exposure_summary(window, cleaned_data: dict) -> dict:
    """Totals an incident reviewer looks at first: how many, from where, writes, errors, of the
    requests in ``window`` (the key's requests in the search's time window) that match the
    search's other filters (``cleaned_data``).

    A busy key makes hundreds of thousands of requests a day, so the totals cover at most the
    newest SUMMARY_CAP requests of the window (``capped`` says so), whatever the filters: the
    cost stays one bounded range of the (credential, time) index even when the filters match few
    rows. The list itself pages through everything.

    One query (issue 13 item 6): finding the cap's boundary, then the totals, then the sources
    read the same rows three times, 80 ms of a 100 ms page for a busy key's week on 10M rows.
    """
    rows = _summary_rows(window, cleaned_data)
    top = rows[0]
    sources = [row for row in rows if row["count"]]
    return {
        "count": int(top["all_count"] or 0),
        "first": _moment(top["all_first"]),
        "last": _moment(top["all_last"]),
        "writes": int(top["all_writes"] or 0),
        "errors": int(top["all_errors"] or 0),
        "capped": (top["newest"] or 0) > SUMMARY_CAP,
        "cap": SUMMARY_CAP,
        "sources": [
            {
                "ip": row["ip"],
                "country": row["country"],
                "count": row["count"],
                "first": _moment(row["first"]),
                "last": _moment(row["last"]),
            }
            for row in sources
        ],
    }


# The newest SUMMARY_CAP + 1 requests of the window, numbered newest first (more than SUMMARY_CAP:
# capped), each saying whether it matches the filters; grouped by source over the matching ones
# among the first SUMMARY_CAP, each group also carrying the totals of every group (window
# aggregates, computed before the LIMIT). The LEFT JOIN keeps one row when nothing matches, for
# ``newest``. The ORM has no FROM (subquery); the inner query is the ORM's own SQL.
_SUMMARY_SQL = """
WITH newest AS ({newest})
SELECT counted.newest, sources.*
FROM (SELECT MAX(number) AS newest FROM newest) AS counted
LEFT JOIN (
    SELECT ip, country, COUNT(*) AS count, MIN(occurred_at) AS first, MAX(occurred_at) AS last,
        SUM(COUNT(*)) OVER () AS all_count,
        MIN(MIN(occurred_at)) OVER () AS all_first,
        MAX(MAX(occurred_at)) OVER () AS all_last,
        SUM(SUM(CASE WHEN method IN ('GET', 'HEAD', 'OPTIONS') THEN 0 ELSE 1 END)) OVER ()
            AS all_writes,
        SUM(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END)) OVER () AS all_errors
    FROM newest
    WHERE matched AND number <= %s
    GROUP BY ip, country
) AS sources ON 1 = 1
ORDER BY sources.count DESC, sources.ip
LIMIT 20
"""


def _summary_rows(window, cleaned_data: dict) -> list[dict]:
    condition = matching_condition(cleaned_data)
    newest = (
        window.annotate(
            matched=ExpressionWrapper(condition, output_field=BooleanField())
            if condition
            else Value(True),
            number=Window(RowNumber(), order_by=[F("occurred_at").desc(), F("id").desc()]),
        )
        .order_by("-occurred_at", "-id")
        .values("ip", "country", "occurred_at", "method", "status", "matched", "number")
    )[: SUMMARY_CAP + 1]
    sql, params = newest.query.sql_with_params()
    with connections[newest.db].cursor() as cursor:
        cursor.execute(_SUMMARY_SQL.format(newest=sql), (*params, SUMMARY_CAP))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _moment(value):
    """A timestamp from raw SQL: SQLite gives its text."""
    if isinstance(value, str):
        moment = parse_datetime(value)
        return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)
    return value


@dataclass
class Step:
    title: str
    text: str
    done: bool = False
    url: str | None = None
    link_text: str = ""


def incident_steps(key) -> list[Step]:
    revoked = key.status == Status.REVOKED
    if revoked:
        who = key.revoked_by.email if key.revoked_by else "the system"
        reason = f" Reason: {key.revoked_reason}." if key.revoked_reason else ""
        revoke = Step(
            "Revoke the key",
            f"Revoked {timefmt.exact(key.revoked_at)} by {who}.{reason}",
            done=True,
        )
    else:
        revoke = Step(
            "Revoke the key",
            "Revocation is immediate and final: every request with this key is refused from "
            "then on.",
            url=reverse("apikeys:revoke", args=[key.public_id]),
            link_text="Revoke this key…",
        )
    replacement = getattr(key, "rotated_to", None)
    scopes = ", ".join(key.scopes)
    if replacement is not None:
        replace = Step(
            "Deploy a replacement with the same scopes",
            f"Replaced by {replacement.display_id} ({scopes}). Deploy it to your systems.",
            done=True,
            url=reverse("apikeys:detail", args=[replacement.public_id]),
            link_text="Open the replacement",
        )
    elif not revoked:
        # Replace, not Create: it revokes this key in the same transaction and takes its place,
        # so it works when the account is at its key limit (a compromised key usually is).
        replace = Step(
            "Deploy a replacement with the same scopes",
            f"Replacing creates a new key with the same scopes ({scopes}), allowlist, alerts and "
            "expiry policy and revokes this one in the same step, even at the key limit.",
            url=reverse("apikeys:replace", args=[key.public_id]),
            link_text="Create a replacement key",
        )
    else:
        replace = Step(
            "Deploy a replacement with the same scopes",
            f"Create a key with the scopes {scopes}, then deploy it to your systems.",
            url=reverse("apikeys:create") + "?" + urlencode({"scopes": ",".join(key.scopes)}),
            link_text="Create a replacement key",
        )
    review = Step(
        "Review the exposure window",
        "Every request made with this key in the window is listed below; filter them, export "
        "them as CSV or JSON Lines, and check the audit log for what was done with the key.",
        url=reverse("audit:log") + f"?key={key.public_id}",
        link_text="Audit log for this key",
    )
    return [revoke, replace, review]
