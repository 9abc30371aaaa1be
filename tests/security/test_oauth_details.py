"""Issue 10 item 6: OAuth details (RFC 9700, RFC 6749, RFC 7636, RFC 9207).

Each test reproduces what the review found on the previous main and pins the fix.
"""

import base64
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from oauthapps.models import AccessToken, Application, Authorization, Grant, RefreshToken
from statuspool.accounts.models import Membership, Role
from tests.conftest import login
from tests.oauthapps.helpers import (
    REDIRECT_URI,
    authorize_url,
    exchange_code,
    obtain_code,
    pkce_pair,
    query_of,
    refresh,
    register_app,
)

pytestmark = pytest.mark.django_db
ISSUER = "http://testserver"


@pytest.fixture
def oauth_app(account_a, alice):
    return register_app(account_a, user=alice)


@pytest.fixture
def app(oauth_app):
    return oauth_app[0]


@pytest.fixture
def secret(oauth_app):
    return oauth_app[1]


@pytest.fixture
def code(client, alice, app, account_a):
    login(client, alice)
    return obtain_code(client, app, account=account_a)


# --- Refresh-token families: an absolute lifetime --------------------------------------------------
def test_refresh_family_ends_a_year_after_consent(client, app, secret, code):
    body = exchange_code(client, app, secret, *code).json()
    start = timezone.now()
    # Refreshed every 25 days, each token is young, but the family is not.
    for day in range(25, 365, 25):
        with time_machine.travel(start + timedelta(days=day)):
            response = refresh(client, app, secret, body["refresh_token"])
            assert response.status_code == 200, (day, response.content)
            body = response.json()
    family = RefreshToken.objects.filter(revoked__isnull=True).get()
    assert abs(family.family_created_at - start) < timedelta(minutes=1)
    with time_machine.travel(start + timedelta(days=365, minutes=1)):
        response = refresh(client, app, secret, body["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_family_lifetime_is_a_setting(client, app, secret, code, settings):
    settings.OAUTH_REFRESH_FAMILY_MAX_AGE_DAYS = 10
    body = exchange_code(client, app, secret, *code).json()
    with time_machine.travel(timezone.now() + timedelta(days=10, minutes=1)):
        assert refresh(client, app, secret, body["refresh_token"]).status_code == 400


# --- Refresh response scope = what the grant holds now ---------------------------------------------
def test_refresh_after_demotion_returns_the_current_scopes(client, bob, app, secret, account_a):
    login(client, bob)
    code, verifier = obtain_code(
        client, app, scope="monitors:read monitors:write", account=account_a
    )
    body = exchange_code(client, app, secret, code, verifier).json()
    assert body["scope"] == "monitors:read monitors:write"
    Membership.objects.filter(user=bob, account=account_a).update(role=Role.MEMBER)

    refreshed = refresh(client, app, secret, body["refresh_token"])

    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["scope"] == "monitors:read"
    newest = AccessToken.objects.order_by("-id").first()
    assert newest.scope == "monitors:read"


# --- code_challenge: 43-128 unreserved characters, refused before consent --------------------------
@pytest.mark.parametrize(
    "challenge",
    ["a" * 42, "a" * 129, "a" * 42 + "!", "a" * 42 + " ", "a" * 42 + "/", "é" * 43],
    ids=["short", "long", "bang", "space", "slash", "non-ascii"],
)
def test_malformed_code_challenge_is_refused_before_consent(client, alice, app, challenge):
    login(client, alice)
    response = client.get(authorize_url(app, challenge=challenge, state="s1"))
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT_URI + "?")
    assert params["error"] == "invalid_request" and params["state"] == "s1"
    assert "code_challenge" in params["error_description"]
    assert not Authorization.objects.exists() and not Grant.objects.exists()


@pytest.mark.parametrize("length", [43, 128])
def test_code_challenge_limits_are_inclusive(client, alice, app, length):
    login(client, alice)
    challenge = ("A-._~9" * 22)[:length]
    response = client.get(authorize_url(app, challenge=challenge))
    assert response.status_code == 200  # the consent screen


# --- A failed PKCE verification burns the code ---------------------------------------------------
def test_failed_pkce_burns_the_code(client, app, secret, code):
    wrong = exchange_code(client, app, secret, code[0], pkce_pair()[0])
    assert wrong.status_code == 400
    assert Grant.objects.get().redeemed_at is not None

    right = exchange_code(client, app, secret, *code)

    assert right.status_code == 400 and right.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


# --- iss on every authorization response -----------------------------------------------------------
def test_iss_on_success(client, alice, app, account_a):
    login(client, alice)
    verifier, challenge = pkce_pair()
    response = client.post(
        authorize_url(app, challenge=challenge), {"account": account_a.pk, "decision": "approve"}
    )
    assert query_of(response["Location"])["iss"] == ISSUER


def test_iss_on_deny(client, alice, app, account_a):
    login(client, alice)
    response = client.post(authorize_url(app), {"account": account_a.pk, "decision": "deny"})
    params = query_of(response["Location"])
    assert params["error"] == "access_denied" and params["iss"] == ISSUER


def test_iss_on_errors_and_matches_the_metadata(client, alice, app):
    login(client, alice)
    response = client.get(authorize_url(app, scope="monitors:read nope:nope"))
    params = query_of(response["Location"])
    assert params["error"] == "invalid_scope"
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert params["iss"] == metadata["issuer"]


# --- Post-validation errors redirect back with error= --------------------------------------------
def test_invalid_scope_redirects_back_instead_of_a_dead_end(client, alice, app):
    login(client, alice)
    response = client.get(authorize_url(app, scope="admin:all", state="st-9"))
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert (params["error"], params["state"]) == ("invalid_scope", "st-9")


def test_unknown_client_or_redirect_still_gets_a_page(client, alice, app):
    login(client, alice)
    response = client.get(authorize_url(app, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400 and "Location" not in response


# --- Redirect URIs: normalised at registration, invalid characters refused -------------------------
def _register(client, uris):
    return client.post(
        reverse("oauthapps:application_register"),
        {"name": "Native CLI", "description": "", "redirect_uris": uris},
    )


def test_uppercase_scheme_and_host_are_stored_normalised_and_work(client, bob, account_a):
    login(client, bob)
    _register(client, "HTTP://127.0.0.1:7777/cb\nhttps://Hooks.Example.COM/Path?Q=1")
    application = Application.objects.get()
    assert application.redirect_uri_list == [
        "http://127.0.0.1:7777/cb",
        "https://hooks.example.com/Path?Q=1",
    ]
    verifier, challenge = pkce_pair()
    url = authorize_url(application, challenge=challenge, redirect_uri="http://127.0.0.1:7777/cb")
    response = client.post(url, {"account": account_a.pk, "decision": "approve"})
    assert response.status_code == 302  # was a 400 after Approve
    assert response["Location"].startswith("http://127.0.0.1:7777/cb?code=")


@pytest.mark.parametrize(
    "uri",
    [
        "https://hooks.example.com/a<b>",
        'https://hooks.example.com/"x"',
        "https://hooks.example.com/a\\b",
        "https://hooks.example.com/{x}",
        "https://hooks.example.com/a|b",
        "https://hooks.example.com/%zz",
        "https://hööks.example.com/cb",
    ],
)
def test_characters_that_cannot_be_in_a_uri_are_refused(client, bob, uri):
    login(client, bob)
    response = _register(client, uri)
    assert "characters a URL cannot hold" in response.content.decode()
    assert not Application.objects.exists()


# --- Audit: code replay and /oauth/revoke ---------------------------------------------------------
def test_code_replay_is_audited(client, app, secret, code, account_a):
    assert exchange_code(client, app, secret, *code).status_code == 200
    assert exchange_code(client, app, secret, *code).status_code == 400
    [event] = AuditEvent.objects.filter(action="oauth.code_replay_detected")
    assert event.account_id == account_a.pk
    assert event.actor_kind == "oauth_app" and event.details["family_revoked"] is True
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_revoke_endpoint_is_audited(client, app, secret, code, account_a, kind):
    body = exchange_code(client, app, secret, *code).json()
    basic = "Basic " + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()
    response = client.post(
        "/oauth/revoke", {"token": body[kind], "token_type_hint": kind}, HTTP_AUTHORIZATION=basic
    )
    assert response.status_code == 200
    [event] = AuditEvent.objects.filter(action="oauth.token_revoked")
    assert event.account_id == account_a.pk and event.details["token_type"] == kind
    assert body[kind] not in str(event.details)
    # Revoking it again (or an unknown token) answers 200 and records nothing new.
    client.post("/oauth/revoke", {"token": body[kind]}, HTTP_AUTHORIZATION=basic)
    assert AuditEvent.objects.filter(action="oauth.token_revoked").count() == 1
