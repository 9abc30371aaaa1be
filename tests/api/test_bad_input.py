"""Bad input on /v2 is a 4xx JSON error, never a 500 (issue 11, item 4)."""

import base64
import json

import pytest
from django.test import Client

from tests.api.fixtures import issue_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(account_a):
    _, raw = issue_key(account_a, ["teams:admin", "monitors:read", "monitors:write"])
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _error(response, status, code=None):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    if code:
        assert error["code"] == code
    return error


@pytest.mark.parametrize("authenticated", [True, False])
def test_deeply_nested_json_is_a_400_before_and_after_authentication(api, authenticated):
    client = api if authenticated else Client(raise_request_exception=False)
    body = "[" * 1100 + "]" * 1100  # 2.2 KB: Python's json would recurse past its limit
    error = _error(client.post("/v2/monitors", body, content_type="application/json"), 400)
    assert "nested" in error["message"]


def test_json_just_past_the_nesting_limit_is_refused_and_a_normal_body_is_not(api):
    deep = {"name": "x"}
    for _ in range(40):
        deep = {"a": deep}
    _error(api.post("/v2/monitors", json.dumps(deep), content_type="application/json"), 400)
    response = api.post(
        "/v2/monitors", json.dumps({"name": "Home", "url": "https://example.com"}),
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "path",
    ["/v2/api-keys/a%00b", "/v2/api-keys/a%00b/revoke", "/v2/monitors/1%00", "/v2/%00"],
)
def test_nul_in_a_path_id_is_a_404(api, path):
    _error(api.get(path), 404, "not_found")
    _error(api.post(path), 404, "not_found")


def test_nul_in_a_query_parameter_is_a_400(api):
    _error(api.get("/v2/monitors?status=a%00b"), 400, "invalid_request")
    _error(api.get("/v2/audit-log?a%00=1"), 400, "invalid_request")


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("path", ["/v2/monitors", "/v2/audit-log", "/v2/api-keys"])
@pytest.mark.parametrize(
    "position", ["p=abc", "p=99999999999999999999999", "p=0001-01-01T00:00:00%2B05:00", "p=%00"]
)
def test_forged_cursor_positions_are_a_404(api, path, position):
    response = api.get(f"{path}?cursor={_cursor(position)}")
    _error(response, 404, "not_found")


@pytest.mark.parametrize("since_or_until", ["until=9999-12-31", "since=0001-01-01T00:00:00%2B05:00",
                                            "until=99999-01-01", "since=2026-02-30"])  # fmt: skip
def test_out_of_range_dates_on_the_audit_log_are_a_400(api, since_or_until):
    error = _error(api.get(f"/v2/audit-log?{since_or_until}"), 400, "validation_failed")
    assert error["fields"]


def test_a_body_over_the_upload_limit_is_a_413_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"name": "x" * 20_000})
    error = _error(api.post("/v2/monitors", body, content_type="application/json"), 413)
    assert error["code"] == "payload_too_large"
    assert "10000 bytes" in error["message"]
