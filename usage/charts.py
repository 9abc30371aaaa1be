"""What the usage charts draw, from ``usage.insight``'s figures (never the raw log).

The pages that show usage (a key, an OAuth application, a connected application, Settings → Usage)
pass the figures through here: the window the reader chose, the links that switch it (plain links,
so the page works without JavaScript), and the numbers ``static/js/usage-charts.js`` draws. The
tables under the charts print the same figures from the same objects, so chart and table cannot
disagree.
"""

from datetime import UTC

from django.utils import timezone

from statuspool import timefmt
from usage.insight import WINDOWS

DEFAULT_WINDOW = "24h"

# (attribute of a Bucket, legend label), in stacking order: what succeeded at the bottom.
STATUS_CLASSES = (
    ("ok", "2xx success"),
    ("client_errors", "4xx client error"),
    ("rate_limited", "429 rate limited"),
    ("server_errors", "5xx server error"),
)


def window_from(request) -> str:
    """``?window=`` when it names a window, else the default (a shared link never errors)."""
    name = request.GET.get("window", "")
    return name if name in WINDOWS else DEFAULT_WINDOW


def window_links(chosen: str, **keep: str) -> list[dict]:
    """One link per window; ``keep`` holds other parameters of the page (its sort order)."""
    kept = "".join(f"&{name}={value}" for name, value in keep.items() if value)
    return [
        {
            "name": name,
            "label": window.label,
            "query": f"?window={name}{kept}",
            "current": name == chosen,
        }
        for name, window in WINDOWS.items()
    ]


def _axis_labels(buckets, bucket: str) -> tuple[list[str], str]:
    """Short labels for the x axis and its title: hours in the reader's zone, days in UTC.

    Daily rollups are UTC days (as ``{% when … "utc-day" %}`` says in the tables)."""
    if bucket == "hour":
        zone = timezone.get_current_timezone()
        labels = [b.start.astimezone(zone).strftime("%H:%M") for b in buckets]
        return labels, f"Hour ({timefmt.zone_name()})"
    return [b.start.astimezone(UTC).strftime("%b %d") for b in buckets], "Day (UTC)"


def credential_chart(usage) -> dict:
    """The chart script's input for one credential (or a set of grants): plain JSON values."""
    labels, axis = _axis_labels(usage.buckets, usage.window.bucket)
    per = "hour" if usage.window.bucket == "hour" else "day"
    return {
        "labels": labels,
        "axis": axis,
        "per": per,
        "statuses": [
            {"key": key, "label": label, "data": [getattr(b, key) for b in usage.buckets]}
            for key, label in STATUS_CLASSES
        ],
        "p95": [b.p95_ms for b in usage.buckets],
        "endpoints": {
            "labels": [f"{e.method} {e.path}" for e in usage.top_endpoints],
            "succeeded": [e.requests - e.errors for e in usage.top_endpoints],
            "errors": [e.errors for e in usage.top_endpoints],
        },
        "clients": {
            "labels": [client_label(c) for c in usage.top_clients],
            "requests": [c.requests for c in usage.top_clients],
        },
    }


def client_label(client) -> str:
    return f"{client.ip} · {client.country_name}" if client.country_name else client.ip


def credential_usage_context(usage, *, subject: str) -> dict:
    """Template context of ``usage/_credential_usage.html``.

    ``subject`` finishes the empty state's sentence: "Requests made with this key appear here…"."""
    return {
        "usage": usage,
        "usage_chart": credential_chart(usage),
        "usage_windows": window_links(usage.window.name),
        "usage_subject": subject,
        "usage_per": "hour" if usage.window.bucket == "hour" else "day",
    }


def account_chart(account_usage, *, read_limit: int, write_limit: int) -> dict:
    """The per-minute peak chart of Settings → Usage, with the plan's limits as flat lines."""
    labels, axis = _axis_labels(account_usage.peaks, account_usage.window.bucket)
    return {
        "labels": labels,
        "axis": axis,
        "per": "hour" if account_usage.window.bucket == "hour" else "day",
        "read": [p.read_peak for p in account_usage.peaks],
        "write": [p.write_peak for p in account_usage.peaks],
        "read_limit": read_limit,
        "write_limit": write_limit,
    }


def sparkline_label(values: list[int]) -> str:
    days = len(values)
    return f"Requests per day, last {days} days: {', '.join(str(v) for v in values)}"
