"""GET /v2/api-keys/{id}/usage: one key's numbers from real /v2 requests, flushed into rollups."""

import re

import pytest

from tests.api.fixtures import error_code, issue_key
from usage import requestlog
from usage.models import RequestLog

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:00:00Z$")


@pytest.fixture
def admin_key(seeded_a):
    return issue_key(seeded_a.account, ["teams:admin"], name="ops-admin")


@pytest.fixture
def bearer(admin_key):
    return f"Bearer {admin_key[1]}"


@pytest.fixture
def used_key(api, seeded_a):
    """A key used through /v2: 3 answered, 1 not found, 1 refused for scope."""
    key, raw = issue_key(seeded_a.account, ["monitors:read"], name="reader")
    for path, status in [
        ("/v2/monitors", 200),
        ("/v2/monitors", 200),
        (f"/v2/monitors/{seeded_a.ids['monitor']}", 200),
        ("/v2/monitors/999999", 404),
        ("/v2/audit-log", 403),
    ]:
        assert api("GET", path, f"Bearer {raw}").status_code == status
    requestlog.flush()
    return key


def test_a_keys_usage_counts_its_requests(api, bearer, used_key):
    response = api("GET", f"/v2/api-keys/{used_key.public_id}/usage?window=24h", bearer)
    assert response.status_code == 200
    body = response.json()
    rows = RequestLog.objects.filter(credential_kind="api_key", credential_id=used_key.pk)
    assert (body["window"], body["bucket"], body["label"]) == ("24h", "hour", "Last 24 hours")
    assert body["total"] == rows.count() == 5
    assert (body["ok"], body["client_errors"], body["rate_limited"], body["server_errors"]) == (
        3,
        2,
        0,
        0,
    )
    assert (body["reads"], body["writes"]) == (5, 0)
    assert body["error_rate"] == pytest.approx(0.4)
    assert len(body["buckets"]) == 24
    assert all(ISO_UTC.match(bucket["start"]) for bucket in body["buckets"])
    last = body["buckets"][-1]
    assert last["total"] == 5 and last["ok"] == 3 and last["p95_ms"] is not None
    assert all(b["total"] == 0 and b["p95_ms"] is None for b in body["buckets"][:-1])
    assert body["top_endpoints"][0] == {
        "method": "GET",
        "path": "/v2/monitors",
        "requests": 2,
        "errors": 0,
    }
    assert body["top_clients"] == [
        {"ip": "127.0.0.1", "country": "", "country_name": "", "requests": 5}
    ]
    assert body["distinct_clients"] == 1 and body["countries"] == []


def test_day_windows_have_one_bucket_per_utc_day(api, bearer, used_key):
    body = api("GET", f"/v2/api-keys/{used_key.public_id}/usage?window=30d", bearer).json()
    assert (body["window"], body["bucket"], len(body["buckets"])) == ("30d", "day", 30)
    assert body["buckets"][-1]["start"].endswith("T00:00:00Z")
    assert body["buckets"][-1]["total"] == body["total"] == 5


def test_the_default_window_is_24h(api, bearer, used_key):
    body = api("GET", f"/v2/api-keys/{used_key.public_id}/usage", bearer).json()
    assert body["window"] == "24h" and body["total"] == 5


def test_a_bad_window_is_a_400_naming_the_allowed_ones(api, bearer, used_key):
    response = api("GET", f"/v2/api-keys/{used_key.public_id}/usage?window=1y", bearer)
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"
    assert (
        response.json()["error"]["message"] == 'Unknown window "1y": use one of 24h, 7d, 30d, 90d.'
    )


def test_another_accounts_key_is_a_404(api, seeded_b, used_key):
    _, raw = issue_key(seeded_b.account, ["teams:admin"])
    response = api("GET", f"/v2/api-keys/{used_key.public_id}/usage", f"Bearer {raw}")
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert "total" not in response.json()


def test_reading_usage_needs_the_scope_that_reading_keys_needs(api, seeded_a, used_key):
    _, raw = issue_key(seeded_a.account, ["monitors:read", "monitors:write"])
    response = api("GET", f"/v2/api-keys/{used_key.public_id}/usage", f"Bearer {raw}")
    assert response.status_code == 403 and error_code(response) == "insufficient_scope"
    assert "teams:admin" in response.json()["error"]["message"]


def test_a_revoked_keys_usage_is_still_readable(api, bearer, used_key):
    from apikeys.services import apikey_revoke
    from audit.services import Actor

    apikey_revoke(key=used_key, actor=Actor.system("tests"), reason="rotated")
    body = api("GET", f"/v2/api-keys/{used_key.public_id}/usage?window=7d", bearer).json()
    assert body["total"] == 5
