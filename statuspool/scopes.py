"""The one catalog of /v2 scopes: name, description (the documentation's words) and order.

Settings (django-oauth-toolkit's SCOPES), the key forms and pages, the consent screen and the
OpenAPI schema all read it, so a scope is added or reworded in one place. A shared library
(DESIGN.md "Layers", layer 1): plain data, no Django import, so settings.py can use it.
"""

from collections.abc import Iterable

# In the documentation's order, which is also the order every page and list shows them in.
SCOPES: dict[str, str] = {
    "monitors:read": "List and view monitor status, uptime history, and incident logs.",
    "monitors:write": "Create, update, and delete monitors and check configurations.",
    "alerts:read": "Retrieve alert rules, notification channels, and dispatch history.",
    "alerts:write": "Modify alert thresholds and notification preferences.",
    "teams:admin": "Manage team members, roles, and billing details.",
}


def order_scopes(scopes: Iterable[str]) -> list[str]:
    """``scopes`` once each, in the catalog's order (unknown ones last)."""
    known = list(SCOPES)
    return sorted(set(scopes), key=lambda s: known.index(s) if s in known else len(known))


def describe(scopes: Iterable[str]) -> list[tuple[str, str]]:
    """(scope, description) pairs in the catalog's order."""
    return [(scope, SCOPES.get(scope, "")) for scope in order_scopes(scopes)]
