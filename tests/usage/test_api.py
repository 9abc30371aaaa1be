"""GET /v2/usage: every credential of the account ranked over a window; both usage endpoints in
/v2/schema."""

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from tests.api.fixtures import error_code, issue_key
from usage import requestlog


@pytest.fixture
def admin_bearer(seeded_a):
    return f"Bearer {issue_key(seeded_a.account, ['teams:admin'], name='ops-admin')[1]}"


def _use(api, account, name, requests):
    key, raw = issue_key(account, ["monitors:read"], name=name)
    for status in requests:
        path = "/v2/monitors" if status == 200 else "/v2/monitors/999999"
        assert api("GET", path, f"Bearer {raw}").status_code == status
    return key


def test_account_usage_ranks_every_credential_of_the_account(api, admin_bearer, seeded_a, seeded_b):
    busy = _use(api, seeded_a.account, "busy", [200, 200, 200, 404])
    quiet = _use(api, seeded_a.account, "quiet", [404])
    _use(api, seeded_b.account, "elsewhere", [200] * 9)
    requestlog.flush()

    response = api("GET", "/v2/usage?window=7d", admin_bearer)
    assert response.status_code == 200
    body = response.json()
    assert (body["window"], body["bucket"], body["label"]) == ("7d", "day", "Last 7 days")
    ranked = [(c["kind"], c["id"], c["label"], c["total"]) for c in body["credentials"]]
    assert ranked == [
        ("api_key", busy.pk, busy.display_id, 4),
        ("api_key", quiet.pk, quiet.display_id, 1),
    ]
    assert body["credentials"][0]["error_rate"] == pytest.approx(0.25)
    assert body["credentials"][1]["error_rate"] == 1.0
    assert (body["total"], body["rate_limited"]) == (5, 0)
    assert body["error_rate"] == pytest.approx(0.4)
    assert len(body["peaks"]) == 7 and body["peaks"][-1]["start"].endswith("T00:00:00Z")
    assert body["peaks"][-1]["read_peak"] >= 3 and body["peaks"][-1]["write_peak"] == 0


def test_account_usage_refuses_a_bad_window_and_a_missing_scope(api, admin_bearer, seeded_a):
    response = api("GET", "/v2/usage?window=forever", admin_bearer)
    assert response.status_code == 400
    assert "24h, 7d, 30d, 90d" in response.json()["error"]["message"]
    _, raw = issue_key(seeded_a.account, ["monitors:read"])
    response = api("GET", "/v2/usage", f"Bearer {raw}")
    assert response.status_code == 403 and error_code(response) == "insufficient_scope"


def test_both_usage_endpoints_are_in_the_schema_with_their_window(client, db):
    schema = client.get("/v2/schema?format=json").json()
    for route in ("/v2/usage", "/v2/api-keys/{public_id}/usage"):
        operation = schema["paths"][route]["get"]
        assert "`teams:admin`" in operation["description"]
        window = next(p for p in operation["parameters"] if p["name"] == "window")
        assert window["in"] == "query"
        assert window["schema"]["enum"] == ["24h", "7d", "30d", "90d"]
        assert {"200", "400", "401", "403"} <= set(operation["responses"])
    bucket = schema["components"]["schemas"]["UsageBucket"]["properties"]
    assert {"start", "ok", "client_errors", "rate_limited", "server_errors", "p95_ms"} <= set(
        bucket
    )
    assert "404" in schema["paths"]["/v2/api-keys/{public_id}/usage"]["get"]["responses"]


def test_the_usage_endpoints_document_cleanly(db):
    GENERATOR_STATS.reset()
    SchemaGenerator(
        patterns=[path("v2/", include("usage.api_urls")), path("v2/", include("apikeys.api_urls"))]
    ).get_schema(request=None, public=True)
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}
