"""Settings → API Access: sorting and filtering the live keys (a handful per account, so in Python).

``?sort=name|created|last_used|status`` (``-`` in front reverses), ``?status=…`` and ``?scope=…``.
Unknown values fall back to the defaults rather than erroring: these are links people share.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from apikeys.models import ApiKey
from statuspool.scopes import SCOPES

STATUS_FILTERS = {
    "active": "Active",
    "needs-attention": "Needs attention (stale, suspended, rotation due)",
    "suspended": "Suspended",
    "stale": "Stale",
    "rotation": "Rotation recommended",
    "expiring": "Expiring or rotated out",
}
COLUMNS = {"name": "Name", "created": "Created", "last_used": "Last used", "status": "Status"}
DEFAULT_SORT = "-created"
_NEVER = datetime.min


def _status_rank(key: ApiKey) -> int:
    """Sorting by status puts what needs attention first."""
    if key.status == "suspended":
        return 0
    if key.is_stale:
        return 1
    if key.rotation_recommended and not key.grace_ends_at:
        return 2
    if key.grace_ends_at or key.expires_at:
        return 3
    return 4


_SORT_KEYS = {
    "name": lambda key: key.name.casefold(),
    "created": lambda key: key.created_at,
    "last_used": lambda key: (key.last_used_at is not None, key.last_used_at or key.created_at),
    "status": _status_rank,
}


def _matches_status(key: ApiKey, status: str) -> bool:
    return {
        "active": key.status == "active" and not key.is_stale and not key.grace_ends_at,
        "needs-attention": _status_rank(key) < 3,
        "suspended": key.status == "suspended",
        "stale": key.is_stale,
        "rotation": key.rotation_recommended and not key.grace_ends_at,
        "expiring": bool(key.grace_ends_at or key.expires_at),
    }.get(status, True)


@dataclass
class Listing:
    keys: list
    sort: str  # column name
    descending: bool
    status: str
    scope: str
    headers: list  # [{"label", "url", "aria_sort"}]

    @property
    def is_filtered(self) -> bool:
        return bool(self.status or self.scope)


def key_listing(keys: list, params) -> Listing:
    raw_sort = params.get("sort") or DEFAULT_SORT
    column = raw_sort.lstrip("-")
    if column not in _SORT_KEYS:
        raw_sort, column = DEFAULT_SORT, DEFAULT_SORT.lstrip("-")
    descending = raw_sort.startswith("-")
    status = params.get("status", "") if params.get("status") in STATUS_FILTERS else ""
    scope = params.get("scope", "") if params.get("scope") in SCOPES else ""
    chosen = [
        key
        for key in keys
        if (not status or _matches_status(key, status)) and (not scope or scope in key.scopes)
    ]
    chosen.sort(key=lambda key: (_SORT_KEYS[column](key), key.pk), reverse=descending)
    filters = {name: value for name, value in (("status", status), ("scope", scope)) if value}
    headers = []
    for name, label in COLUMNS.items():
        # A second click on the sorted column reverses it; dates start newest first.
        if name == column:
            next_sort = name if descending else f"-{name}"
        else:
            next_sort = f"-{name}" if name in ("created", "last_used") else name
        aria = ("descending" if descending else "ascending") if name == column else ""
        headers.append(
            {
                "name": name,
                "label": label,
                "url": "?" + urlencode({**filters, "sort": next_sort}),
                "aria_sort": aria,
            }
        )
    return Listing(chosen, column, descending, status, scope, headers)
