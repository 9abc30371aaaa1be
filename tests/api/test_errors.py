"""One JSON error format for every /v2 status, and credentials outside the header refused."""

import json

import pytest

from statuspool.monitoring import api as monitoring_api
from statuspool.monitoring.models import Monitor
from tests.api.fixtures import issue_key


@pytest.fixture
def bearer(account_a):
    return f"Bearer {issue_key(account_a, ['monitors:read', 'monitors:write'])[1]}"


def assert_json_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_unknown_v2_path_is_json_404(api, bearer):
    assert_json_error(api("GET", "/v2/no-such-thing", bearer), 404, "not_found")
    assert_json_error(api("GET", "/v2/monitors/not-a-number", bearer), 404, "not_found")


def test_unknown_object_is_json_404(api, bearer):
    assert_json_error(api("GET", "/v2/monitors/999999", bearer), 404, "not_found")


def test_404_outside_v2_stays_html(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_method_not_allowed_is_json_405_with_allow(api, bearer):
    error = assert_json_error(api("DELETE", "/v2/monitors", bearer), 405, "method_not_allowed")
    assert "DELETE" in error["message"]
    response = api("POST", "/v2/incidents", bearer, json={})
    assert_json_error(response, 405, "method_not_allowed")
    assert response["Allow"].startswith("GET")


def test_server_error_is_json_500_without_details(api, bearer, client, monkeypatch):
    def explode(self, request, *args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(monitoring_api.MonitorList, "get", explode)
    client.raise_request_exception = False
    response = api("GET", "/v2/monitors", bearer)
    error = assert_json_error(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()
    assert error["message"] == "Something went wrong on our side."


def test_invalid_json_is_400(client, bearer):
    response = client.post(
        "/v2/monitors", "{not json", content_type="application/json", HTTP_AUTHORIZATION=bearer
    )
    assert_json_error(response, 400, "invalid_request")


def test_form_bodies_are_415(client, bearer):
    response = client.post("/v2/monitors", {"name": "x"}, HTTP_AUTHORIZATION=bearer)
    assert_json_error(response, 415, "unsupported_media_type")


def test_validation_errors_name_the_fields(api, bearer):
    error = assert_json_error(
        api("POST", "/v2/monitors", bearer, json={"url": "ftp://x"}), 400, "validation_failed"
    )
    assert set(error["fields"]) == {"name", "url"}


def test_responses_are_not_cacheable(api, bearer):
    assert api("GET", "/v2/monitors", bearer)["Cache-Control"] == "no-store"


# --- credentials outside the Authorization header --------------------------------------------
@pytest.mark.parametrize(
    "query",
    ["api_key={raw}", "access_token=abc", "token=abc", "key=abc", "q={raw}", "note=x%20{raw}"],
)
def test_credentials_in_the_query_string_are_refused(api, account_a, query):
    key, raw = issue_key(account_a, ["monitors:read"])
    response = api("GET", f"/v2/monitors?{query.format(raw=raw)}", f"Bearer {raw}")
    error = assert_json_error(response, 400, "credential_in_url")
    assert "rotate" in error["message"]
    assert raw not in response.content.decode()


def test_query_string_key_is_refused_even_without_a_header(api, account_a):
    _, raw = issue_key(account_a, ["monitors:read"])
    response = api("GET", f"/v2/monitors?api_key={raw}")
    assert_json_error(response, 400, "credential_in_url")


@pytest.mark.parametrize(
    "extra",
    [
        {"api_key": "whatever"},
        {"token": "whatever"},
        {"access_token": "whatever"},
        {"name": "{raw}"},
        {"name": "prefix {raw} suffix"},
        {"nested": {"deeper": ["{raw}"]}},
        {"name": "sp_oat_0123456789abcdefghij"},
    ],
    ids=["api_key", "token", "access_token", "value", "embedded", "nested", "oauth-token"],
)
def test_credentials_in_the_body_are_refused_and_nothing_is_created(api, account_a, extra):
    key, raw = issue_key(account_a, ["monitors:write"])
    template = {"name": "Leaky", "url": "https://example.com", **extra}
    body = json.loads(json.dumps(template).replace("{raw}", raw))
    response = api("POST", "/v2/monitors", f"Bearer {raw}", json=body)
    error = assert_json_error(response, 400, "credential_in_body")
    assert "rotate" in error["message"]
    assert raw not in response.content.decode()
    assert not Monitor.objects.filter(account=account_a).exists()


def test_ordinary_names_are_not_mistaken_for_credentials(api, account_a):
    _, raw = issue_key(account_a, ["monitors:write"])
    body = {"name": "sp_live_checker", "url": "https://example.com/sp_live_status"}
    response = api("POST", "/v2/monitors", f"Bearer {raw}", json=body)
    assert response.status_code == 201, response.content


def test_head_needs_what_get_needs_and_options_any_credential(api, account_a):
    _, reader = issue_key(account_a, ["monitors:read"])
    _, other = issue_key(account_a, ["alerts:read"])
    assert api("HEAD", "/v2/monitors", f"Bearer {reader}").status_code == 200
    assert api("HEAD", "/v2/monitors", f"Bearer {other}").status_code == 403
    response = api("OPTIONS", "/v2/monitors", f"Bearer {other}")
    assert response.status_code == 200
    assert response.json()["name"] == "Monitor List"
    assert "POST" not in response.json().get("actions", {})  # it may not create monitors
    assert_json_error(api("OPTIONS", "/v2/monitors"), 401, "invalid_token")
