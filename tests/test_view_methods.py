"""Every dashboard, OAuth and well-known URL says which HTTP methods it serves (issue 9).

A method a view does not declare is answered 405 before anything else runs (authentication,
redirects, lookups): the method check is the outermost decorator. /v2 (DRF's own method handling)
and the admin are left out.
"""

import re

from django.urls import URLPattern, URLResolver, get_resolver

SKIPPED = ("admin/", "v2/")


def _routes(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _example_path(route: str) -> str:
    def value(match):
        return "1" if match.group(1) == "int" else "abcd1234"

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", value, route)


def test_every_view_refuses_a_method_it_does_not_declare(client, db):
    served = [r for r in _routes() if not r.startswith(SKIPPED)]
    assert len(served) > 30  # the walk found the dashboard
    unrestricted = [
        route
        for route in served
        if client.generic("PATCH", _example_path(route)).status_code != 405
    ]
    assert unrestricted == []
