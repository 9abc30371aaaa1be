"""Every /v2 route × every scope: allowed exactly when declared (tests/api/routes.py), and a
refused write changes nothing. Runs once per credential kind (``make_bearer``)."""

import pytest

from tests.api.fixtures import ALL_SCOPES, error_code, snapshot
from tests.api.routes import ROUTES
from tests.oauthapps.helpers import oauth_bearer


def _call(api, route, seeded, bearer):
    body = route.body(seeded.ids) if route.body else None
    return api(route.method, route.url(seeded.ids), bearer, json=body)


@pytest.mark.parametrize("scope", ALL_SCOPES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_with_one_scope(api, make_bearer, seeded_a, route, scope):
    bearer = make_bearer(seeded_a.account, [scope])
    before = snapshot(seeded_a.account)
    response = _call(api, route, seeded_a, bearer)
    if route.owner_only and route.scope == scope and make_bearer is oauth_bearer:
        assert response.status_code == 403, response.content
        assert error_code(response) == "forbidden"
        assert snapshot(seeded_a.account) == before
    elif route.scope is None or route.scope == scope:
        assert response.status_code == route.ok, response.content
        if route.is_write:
            assert snapshot(seeded_a.account) != before, "an allowed write changed nothing"
    else:
        assert response.status_code == 403, response.content
        assert error_code(response) == "insufficient_scope"
        assert route.scope in response.json()["error"]["message"]
        assert snapshot(seeded_a.account) == before


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_with_every_other_scope(api, make_bearer, seeded_a, route):
    """Scopes do not add up to one another: all four others still do not grant the fifth."""
    others = [scope for scope in ALL_SCOPES if scope != route.scope]
    response = _call(api, route, seeded_a, make_bearer(seeded_a.account, others))
    if route.scope is None:
        assert response.status_code == route.ok
    else:
        assert response.status_code == 403
        assert error_code(response) == "insufficient_scope"


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_without_credential_is_401(api, seeded_a, route):
    before = snapshot(seeded_a.account)
    response = _call(api, route, seeded_a, None)
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"
    assert snapshot(seeded_a.account) == before
