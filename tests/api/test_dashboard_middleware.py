"""/v2 does not pay for the dashboard (issue 12, item 3): no session, user, messages, nonce or
current account on its JSON endpoints, and a Content-Security-Policy built once, not per response.
"""

from unittest import mock

import pytest

from statuspool.api import middleware


def test_api_json_skips_the_dashboard_middleware(api, make_bearer, account_a, client, alice):
    bearer = make_bearer(account_a, ["monitors:read"])
    response = api("GET", "/v2/credential", bearer)
    assert response.status_code == 200
    request = response.wsgi_request
    # (request.user there is DRF's, set from the credential, not the session's.)
    for attribute in ("session", "_messages", "csp_nonce", "membership", "account"):
        assert not hasattr(request, attribute), attribute
    assert "Cookie" not in response.get("Vary", "")
    assert "Set-Cookie" not in str(response.headers)


def test_dashboard_pages_keep_it(client, alice, account_a):
    client.force_login(alice)
    response = client.get("/")
    request = response.wsgi_request
    for attribute in ("session", "user", "_messages", "csp_nonce", "membership", "account"):
        assert hasattr(request, attribute), attribute


def test_api_docs_is_a_page_and_keeps_it(client, db):
    request = client.get("/v2/docs").wsgi_request
    assert hasattr(request, "session") and hasattr(request, "csp_nonce")


@pytest.mark.parametrize("path", ["/v2/credential", "/v2/monitors"])
def test_csp_is_built_once_not_per_response(api, make_bearer, account_a, client, path):
    bearer = make_bearer(account_a, ["monitors:read"])
    dashboard_policy = client.get("/accounts/login/")["Content-Security-Policy"]
    middleware._static_policies.cache_clear()
    with (
        mock.patch("csp.middleware.build_policy", wraps=middleware.build_policy) as per_response,
        mock.patch("statuspool.api.middleware.build_policy", wraps=middleware.build_policy) as once,
    ):
        responses = [api("GET", path, bearer) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert per_response.call_count == 0
    assert once.call_count == 2  # the policy and the report-only policy, once for the process
    for response in responses:
        assert response["Content-Security-Policy"] == dashboard_policy
        assert "frame-ancestors 'none'" in dashboard_policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "no-store"


def test_a_changed_policy_is_not_served_stale(client, db, settings):
    client.get("/accounts/login/")
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert client.get("/accounts/login/")["Content-Security-Policy"] == "default-src 'none'"
