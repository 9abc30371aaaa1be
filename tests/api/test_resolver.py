"""Walks the URL resolver: no /v2 route may forget to declare the scope of each of its methods,
and every authenticated route is in the scope matrix (tests/api/routes.py)."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, include, path

from statuspool.api.views import ApiView
from statuspool.scopes import SCOPES
from tests.api.routes import ROUTES

HANDLERS = ("get", "post", "put", "patch", "delete")


def walk(patterns, prefix=""):
    """(route string, callback) for every URL pattern below ``patterns``."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def problems_of(route: str, callback) -> list[str]:
    """Why a /v2 route's view does not declare its scopes properly (empty: it does)."""
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view is None:
        return [f"{route}: not a class-based API view, so it cannot declare required_scopes"]
    if getattr(view, "public_endpoint", False) is True:
        return []
    problems = []
    if not issubclass(view, ApiView):
        problems.append(f"{route}: {view.__name__} does not use statuspool.api.views.ApiView")
    scopes = getattr(view, "required_scopes", None)
    if not isinstance(scopes, dict) or not scopes:
        return [*problems, f"{route}: {view.__name__} declares no required_scopes"]
    for method, scope in scopes.items():
        if scope is not None and scope not in SCOPES:
            problems.append(f"{route}: {method} needs unknown scope {scope!r}")
        if not hasattr(view, method.lower()):
            problems.append(f"{route}: declares {method} but has no handler for it")
    for handler in HANDLERS:
        if hasattr(view, handler) and handler.upper() not in scopes:
            problems.append(f"{route}: {handler.upper()} is served but declares no scope")
    return problems


def v2_routes():
    return [
        (route, cb) for route, cb in walk(get_resolver().url_patterns) if route.startswith("v2/")
    ]


def _normalise(route: str) -> str:
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", "/" + route.lstrip("/"))


def test_there_are_v2_routes_to_check():
    assert len(v2_routes()) >= 20


def test_every_v2_route_declares_its_scopes_or_is_explicitly_public():
    problems = [problem for route, cb in v2_routes() for problem in problems_of(route, cb)]
    assert problems == []


def test_the_only_public_v2_routes_are_schema_docs_and_signed_leak_reports():
    public = sorted(
        route for route, cb in v2_routes() if getattr(cb.cls, "public_endpoint", False) is True
    )
    assert public == ["v2/docs", "v2/leaks", "v2/schema"]


def test_every_authenticated_route_and_method_is_in_the_scope_matrix():
    served = set()
    for route, callback in v2_routes():
        if getattr(callback.cls, "public_endpoint", False) is not True:
            for method in callback.cls.required_scopes:
                served.add((method, _normalise(route)))
    in_matrix = {(r.method, _normalise(r.path)) for r in ROUTES}
    assert served - in_matrix == set(), "add these to tests/api/routes.py"
    assert in_matrix - served == set(), "the matrix lists routes that do not exist"


def test_matrix_scopes_match_the_views_declarations():
    declared = {}
    for route, callback in v2_routes():
        for method, scope in getattr(callback.cls, "required_scopes", {}).items():
            declared[(method, _normalise(route))] = scope
    for route in ROUTES:
        assert declared[(route.method, _normalise(route.path))] == route.scope, str(route)


# --- the checker itself must be able to fail ---------------------------------------------------
class Forgetful(ApiView):
    def get(self, request):
        raise AssertionError("never called")


class HalfDeclared(ApiView):
    required_scopes = {"GET": "monitors:read"}

    def get(self, request):
        raise AssertionError("never called")

    def delete(self, request):
        raise AssertionError("never called")


class Misspelt(ApiView):
    required_scopes = {"GET": "monitor:read"}

    def get(self, request):
        raise AssertionError("never called")


def plain_function_view(request):
    raise AssertionError("never called")


@pytest.mark.parametrize(
    "view, expected",
    [
        (Forgetful.as_view(), "declares no required_scopes"),
        (HalfDeclared.as_view(), "DELETE is served but declares no scope"),
        (Misspelt.as_view(), "unknown scope 'monitor:read'"),
        (plain_function_view, "not a class-based API view"),
    ],
)
def test_checker_catches_undeclared_views(view, expected):
    patterns = [path("v2/", include(([path("forgetful", view)], "fake")))]
    problems = [problem for route, cb in walk(patterns) for problem in problems_of(route, cb)]
    assert any(expected in problem for problem in problems), problems
