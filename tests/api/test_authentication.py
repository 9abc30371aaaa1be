"""Who gets in: only a well-formed, known, active, unexpired credential in the Authorization header."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apikeys.models import Status
from statuspool import api_key_format
from tests.api.fixtures import issue_key
from tests.conftest import login

WWW_AUTHENTICATE = 'Bearer realm="StatusPool", error="invalid_token"'


def assert_invalid_token(response, code="invalid_token"):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


def _with_checksum(payload: str) -> str:
    return payload + api_key_format.checksum(payload)


@pytest.fixture
def live_key(account_a):
    return issue_key(account_a, ["monitors:read"])


def test_valid_key_is_accepted(api, live_key):
    key, raw = live_key
    response = api("GET", "/v2/credential", f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["label"] == key.display_id


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "Token {raw}",
        "{raw}",
        "Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    ],
    ids=[
        "absent",
        "empty",
        "no-value",
        "blank-value",
        "basic",
        "token-scheme",
        "no-scheme",
        "other",
    ],
)
def test_missing_or_wrong_scheme_is_401(api, live_key, header):
    _, raw = live_key
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header.format(raw=raw)}
    assert_invalid_token(api("GET", "/v2/monitors", **headers))


def test_scheme_name_is_case_insensitive(api, live_key):
    _, raw = live_key
    assert api("GET", "/v2/monitors", f"bearer {raw}").status_code == 200


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1],  # truncated
        lambda raw: raw + "0",  # too long
        lambda raw: raw[:20] + ("A" if raw[20] != "A" else "B") + raw[21:],  # typo
        lambda raw: raw[:-6] + "000000",  # checksum replaced
        lambda raw: raw[:-2] + "!!",  # not base62
        lambda raw: "sp_live_" + "0" * 40,
    ],
    ids=["truncated", "too-long", "typo", "bad-checksum", "bad-alphabet", "zeros"],
)
def test_malformed_key_is_refused_without_any_query(
    api, live_key, mangle, django_assert_num_queries
):
    _, raw = live_key
    with django_assert_num_queries(0):
        assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {mangle(raw)}"))


def test_unknown_key_is_401(api, db):
    assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {api_key_format.generate()}"))


def test_right_public_id_with_wrong_secret_is_401(api, live_key):
    """The public id is shown in the dashboard: knowing it must not be enough."""
    _, raw = live_key
    forged = _with_checksum(raw[:16] + ("x" if raw[16] != "x" else "y") + raw[17:-6])
    assert api_key_format.is_well_formed(forged) and api_key_format.public_id_of(
        forged
    ) == api_key_format.public_id_of(raw)
    assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {forged}"))
    # Also once the real key's result is cached.
    assert api("GET", "/v2/monitors", f"Bearer {raw}").status_code == 200
    assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {forged}"))


def test_revoked_key_is_401(api, account_a):
    _, raw = issue_key(account_a, ["monitors:read"], status=Status.REVOKED)
    assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {raw}"))


def test_key_past_its_rotation_grace_is_401(api, account_a):
    _, raw = issue_key(
        account_a, ["monitors:read"], grace_ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {raw}"))


def test_expired_key_says_key_expired_and_when(api, account_a):
    expired = timezone.now() - timedelta(seconds=1)
    _, raw = issue_key(account_a, ["monitors:read"], expires_at=expired)
    body = assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {raw}"), code="key_expired")
    assert f"expired on {expired:%Y-%m-%d %H:%M} UTC" in body["error"]["message"]
    assert "Create a new key" in body["error"]["message"]


def test_key_expires_at_its_instant_even_from_the_cache(api, account_a):
    expires = timezone.now() + timedelta(days=30)
    _, raw = issue_key(account_a, ["monitors:read"], expires_at=expires)
    assert api("GET", "/v2/monitors", f"Bearer {raw}").status_code == 200  # cache now warm
    with time_machine.travel(expires - timedelta(seconds=1), tick=False):
        assert api("GET", "/v2/monitors", f"Bearer {raw}").status_code == 200
    with time_machine.travel(expires + timedelta(seconds=1), tick=False):
        response = api("GET", "/v2/monitors", f"Bearer {raw}")
        assert_invalid_token(response, code="key_expired")


def test_suspended_key_says_so_and_who_can_fix_it(api, account_a):
    _, raw = issue_key(account_a, ["monitors:read"], status=Status.SUSPENDED)
    body = assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {raw}"), code="key_suspended")
    assert "team admin" in body["error"]["message"]
    assert "reactivate" in body["error"]["message"]


def test_rotated_key_works_until_its_grace_ends_even_from_the_cache(api, account_a):
    expires = timezone.now() + timedelta(hours=1)
    _, raw = issue_key(account_a, ["monitors:read"], grace_ends_at=expires)
    assert api("GET", "/v2/monitors", f"Bearer {raw}").status_code == 200  # cache now warm
    with time_machine.travel(expires - timedelta(seconds=1), tick=False):
        assert api("GET", "/v2/monitors", f"Bearer {raw}").status_code == 200
    with time_machine.travel(expires + timedelta(seconds=1), tick=False):
        assert_invalid_token(api("GET", "/v2/monitors", f"Bearer {raw}"))


def test_session_cookie_never_authenticates_v2(client, alice, account_a, api):
    login(client, alice)
    assert client.get("/v2/monitors").status_code == 401
    assert client.get("/v2/credential").status_code == 401


def test_credential_describes_the_key(api, account_a):
    account_a.plan = "enterprise"
    account_a.save()
    expires = timezone.now() + timedelta(days=7)
    key, raw = issue_key(account_a, ["alerts:read", "monitors:read"], expires_at=expires)
    body = api("GET", "/v2/credential", f"Bearer {raw}").json()
    assert body == {
        "type": "api_key",
        "label": key.display_id,
        "account": {"id": account_a.pk, "name": "Acme Monitoring", "plan": "enterprise"},
        "scopes": ["alerts:read", "monitors:read"],
        "rate_limits": {
            "read": {"limit": 2400, "window_seconds": 60},
            "write": {"limit": 600, "window_seconds": 60},
        },
        "allowed_networks": [],
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    }
    assert raw not in str(body)
