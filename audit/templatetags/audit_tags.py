"""Presentation helpers of the Audit Log and exposure pages."""

import json
from datetime import UTC

from django import template

from audit import keyset
from audit.actions import describe

register = template.Library()

_KIND_BADGES = {
    "user": "badge-neutral",
    "api_key": "badge-active",
    "oauth_app": "badge-rotation",
    "system": "badge-stale",
}
SUMMARY_LENGTH = 140


@register.filter
def iso_utc(value) -> str:
    """ISO 8601 in UTC to the second, for <time datetime> (statuspool.js shows it locally)."""
    if not value:
        return ""
    return value.astimezone(UTC).isoformat(timespec="seconds")


@register.filter
def utc(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


@register.filter
def action_label(action: str) -> str:
    return describe(action)


@register.filter
def kind_badge(kind: str) -> str:
    return _KIND_BADGES.get(kind, "badge-neutral")


def _short(value) -> str:
    if isinstance(value, list):
        return ", ".join(_short(item) for item in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(", ", ": "))
    return str(value)


@register.filter
def details_summary(details) -> str:
    if not details:
        return ""
    text = "; ".join(f"{key}: {_short(value)}" for key, value in sorted(details.items()))
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


@register.filter
def status_badge(status: int) -> str:
    if status >= 500:
        return "badge-revoked"
    if status >= 400:
        return "badge-stale"
    return "badge-active"


@register.simple_tag(takes_context=True)
def page_position(context, page) -> dict:
    """Which events a keyset page shows ("51–100"): links carry ``page``, the first page is 1.

    No total: counting a million-event filter on every page view costs more than it tells.
    """
    try:
        number = max(1, int(context["request"].GET.get("page", 1)))
    except (TypeError, ValueError):
        number = 1
    if not page.newer:
        number = 1
    first = (number - 1) * keyset.PAGE_SIZE + 1
    return {"number": number, "first": first, "last": first + len(page.rows) - 1}
