"""/oauth/token: code exchange with PKCE, single-use codes, refresh rotation and reuse detection."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from oauthapps import token_format
from oauthapps.models import AccessToken, Grant, RefreshToken
from tests.conftest import login
from tests.oauthapps.helpers import (
    REDIRECT_URI,
    exchange_code,
    obtain_code,
    pkce_pair,
    refresh,
    token_request,
)

pytestmark = pytest.mark.django_db


def _v2(client, access_token, path="/v2/monitors"):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {access_token}")


@pytest.fixture
def code(client, alice, app, account_a):
    login(client, alice)
    return obtain_code(client, app, account=account_a)


def test_code_exchange_issues_prefixed_tokens(client, app, secret, code, account_a, alice):
    response = exchange_code(client, app, secret, *code)
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "monitors:read alerts:read"
    assert token_format.is_well_formed(body["access_token"], token_format.ACCESS_PREFIX)
    assert token_format.is_well_formed(body["refresh_token"], token_format.REFRESH_PREFIX)
    access = AccessToken.objects.get()
    assert access.token == ""  # only the checksum is stored
    assert access.token_checksum == token_format.token_checksum(body["access_token"])
    assert access.authorization.account == account_a and access.user == alice
    assert RefreshToken.objects.get().authorization == access.authorization
    assert _v2(client, body["access_token"]).status_code == 200


def test_wrong_code_verifier_is_refused(client, app, secret, code):
    response = exchange_code(client, app, secret, code[0], pkce_pair()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_missing_code_verifier_is_refused(client, app, secret, code):
    response = token_request(
        client,
        app,
        secret,
        grant_type="authorization_code",
        code=code[0],
        redirect_uri=REDIRECT_URI,
    )
    assert response.status_code == 400
    assert not AccessToken.objects.exists()


def test_redirect_uri_must_match_the_authorization_request(client, app, secret, code):
    response = exchange_code(client, app, secret, *code, redirect_uri=REDIRECT_URI + "/")
    assert response.status_code in (400, 401)
    assert not AccessToken.objects.exists()


def test_code_replay_fails_and_revokes_the_first_tokens(
    client, app, secret, code, django_capture_on_commit_callbacks
):
    first = exchange_code(client, app, secret, *code).json()
    assert _v2(client, first["access_token"]).status_code == 200  # now cached
    with django_capture_on_commit_callbacks(execute=True):  # the token response commits
        replay = exchange_code(client, app, secret, *code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert _v2(client, first["access_token"]).status_code == 401
    assert not AccessToken.objects.exists()
    assert RefreshToken.objects.get().revoked is not None
    assert refresh(client, app, secret, first["refresh_token"]).status_code == 400
    assert Grant.objects.get().redeemed_at is not None


def test_code_expires_after_60_seconds(client, app, secret, code):
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = exchange_code(client, app, secret, *code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_client(client, app, secret, code, account_a):
    from tests.oauthapps.helpers import register_app

    other, other_secret = register_app(account_a, name="Other client")
    assert exchange_code(client, other, other_secret, *code).status_code == 400
    assert exchange_code(client, app, secret, *code).status_code == 200


@pytest.mark.parametrize(
    "auth",
    ["none", "wrong-secret", "body-without-secret"],
)
def test_confidential_clients_must_authenticate(client, app, secret, code, auth):
    data = {
        "grant_type": "authorization_code",
        "code": code[0],
        "code_verifier": code[1],
        "redirect_uri": REDIRECT_URI,
    }
    if auth == "wrong-secret":
        wrong = secret[:-1] + ("x" if secret[-1] != "x" else "y")
        response = token_request(client, app, wrong, **data)
    else:
        response = client.post("/oauth/token", {**data, "client_id": app.client_id})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not AccessToken.objects.exists()


def test_client_secret_in_the_body_works(client, app, secret, code):
    response = client.post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code[0],
            "code_verifier": code[1],
            "redirect_uri": REDIRECT_URI,
            "client_id": app.client_id,
            "client_secret": secret,
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "password", "username": "alice@acme.test", "password": "x"},
        {"grant_type": "client_credentials"},
        {"grant_type": "implicit"},
    ],
    ids=["password", "client_credentials", "implicit"],
)
def test_other_grant_types_are_refused(client, app, secret, data):
    response = token_request(client, app, secret, **data)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert not AccessToken.objects.exists()


def test_refresh_rotates_and_the_old_refresh_token_is_refused(
    client, app, secret, code, django_capture_on_commit_callbacks
):
    first = exchange_code(client, app, secret, *code).json()
    assert _v2(client, first["access_token"]).status_code == 200  # now cached
    with django_capture_on_commit_callbacks(execute=True):  # the token response commits
        second = refresh(client, app, secret, first["refresh_token"])
    assert second.status_code == 200, second.content
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _v2(client, second["access_token"]).status_code == 200
    assert _v2(client, first["access_token"]).status_code == 401  # replaced
    again = refresh(client, app, secret, first["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_refresh_reuse_revokes_the_whole_family_and_is_audited(
    client, app, secret, code, account_a, django_capture_on_commit_callbacks
):
    first = exchange_code(client, app, secret, *code).json()
    second = refresh(client, app, secret, first["refresh_token"]).json()
    third = refresh(client, app, secret, second["refresh_token"]).json()
    assert _v2(client, third["access_token"]).status_code == 200  # now cached
    # The first refresh token was copied: the thief presents it again.
    with django_capture_on_commit_callbacks(execute=True):  # the token response commits
        assert refresh(client, app, secret, first["refresh_token"]).status_code == 400
    assert _v2(client, third["access_token"]).status_code == 401
    assert refresh(client, app, secret, third["refresh_token"]).status_code == 400
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert not AccessToken.objects.exists()
    event = AuditEvent.objects.get(action="oauth.refresh_reuse_detected")
    assert event.account_id == account_a.pk
    assert event.actor_kind == "oauth_app" and event.actor_label == "PagerDuty Sync"
    assert event.details["client_id"] == app.client_id
    assert first["refresh_token"] not in json.dumps(event.details)


def test_refresh_tokens_last_30_days(client, app, secret, code):
    first = exchange_code(client, app, secret, *code).json()
    with time_machine.travel(timezone.now() + timedelta(days=29, hours=23)):
        second = refresh(client, app, secret, first["refresh_token"])
        assert second.status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=60)):
        assert refresh(client, app, secret, second.json()["refresh_token"]).status_code == 400


def test_refresh_token_older_than_30_days_is_refused(client, app, secret, code):
    first = exchange_code(client, app, secret, *code).json()
    with time_machine.travel(timezone.now() + timedelta(days=30, seconds=1)):
        assert refresh(client, app, secret, first["refresh_token"]).status_code == 400


def test_access_tokens_expire_after_an_hour(client, app, secret, code):
    body = exchange_code(client, app, secret, *code).json()
    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        assert _v2(client, body["access_token"]).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert _v2(client, body["access_token"]).status_code == 401


def test_refresh_is_refused_after_the_user_left_the_account(client, app, secret, code, alice):
    body = exchange_code(client, app, secret, *code).json()
    alice.memberships.all().delete()
    assert refresh(client, app, secret, body["refresh_token"]).status_code == 400
