"""/oauth/revoke (RFC 7009), /oauth/introspect (RFC 7662), /.well-known/oauth-authorization-server."""

import base64

import pytest

from oauthapps.models import AccessToken, RefreshToken
from tests.oauthapps.helpers import issue_tokens, register_app

pytestmark = pytest.mark.django_db


def _basic(app, secret):
    return "Basic " + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()


def _v2(client, access):
    return client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {access}")


@pytest.fixture
def pair(app, alice, account_a):
    return issue_tokens(app, alice, account_a, ["monitors:read", "alerts:read"])


def test_revoking_an_access_token_kills_it_and_its_refresh_token(client, app, secret, pair):
    access, refresh_raw = pair
    response = client.post(
        "/oauth/revoke",
        {"token": access, "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=_basic(app, secret),
    )
    assert response.status_code == 200
    assert _v2(client, access).status_code == 401
    assert not AccessToken.objects.exists()
    assert RefreshToken.objects.get().revoked is not None


def test_revoking_a_refresh_token_kills_its_access_token(client, app, secret, pair):
    access, refresh_raw = pair
    response = client.post(
        "/oauth/revoke", {"token": refresh_raw}, HTTP_AUTHORIZATION=_basic(app, secret)
    )
    assert response.status_code == 200
    assert _v2(client, access).status_code == 401
    assert RefreshToken.objects.get().revoked is not None


def test_revocation_needs_the_owning_client(client, app, secret, pair, account_a):
    access, _ = pair
    anonymous = client.post("/oauth/revoke", {"token": access, "client_id": app.client_id})
    assert anonymous.status_code == 401
    other, other_secret = register_app(account_a, name="Other")
    # RFC 7009: answer 200 without telling whether the token exists, but revoke nothing.
    response = client.post(
        "/oauth/revoke", {"token": access}, HTTP_AUTHORIZATION=_basic(other, other_secret)
    )
    assert response.status_code == 200
    assert _v2(client, access).status_code == 200


def test_introspection_of_an_active_token(client, app, secret, pair, alice, account_a):
    access, refresh_raw = pair
    response = client.post(
        "/oauth/introspect", {"token": access}, HTTP_AUTHORIZATION=_basic(app, secret)
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "monitors:read alerts:read"
    assert body["client_id"] == app.client_id
    assert body["username"] == alice.email
    assert body["token_type"] == "Bearer"
    assert body["account_id"] == account_a.pk
    assert body["exp"] > body["iat"]
    refresh_info = client.post(
        "/oauth/introspect",
        {"token": refresh_raw, "token_type_hint": "refresh_token"},
        HTTP_AUTHORIZATION=_basic(app, secret),
    ).json()
    assert refresh_info["active"] is True and refresh_info["token_type"] == "refresh_token"


def test_introspection_reports_the_current_role(client, app, secret, account_a, bob):
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read", "teams:admin"])
    bob.memberships.update(role="member")
    body = client.post(
        "/oauth/introspect", {"token": access}, HTTP_AUTHORIZATION=_basic(app, secret)
    ).json()
    assert body["active"] is True and body["scope"] == "monitors:read"


def test_introspection_requires_client_authentication(client, app, pair):
    response = client.post("/oauth/introspect", {"token": pair[0]})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_introspection_never_describes_another_clients_token(client, pair, account_a):
    other, other_secret = register_app(account_a, name="Other")
    body = client.post(
        "/oauth/introspect", {"token": pair[0]}, HTTP_AUTHORIZATION=_basic(other, other_secret)
    ).json()
    assert body == {"active": False}


def test_introspection_of_revoked_or_unknown_tokens(client, app, secret, pair):
    access, _ = pair
    AccessToken.objects.all().delete()
    for token in (access, "sp_oat_nonsense", "hello"):
        body = client.post(
            "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=_basic(app, secret)
        ).json()
        assert body == {"active": False}


def test_introspection_refuses_get(client, app, secret, pair):
    response = client.get(
        f"/oauth/introspect?token={pair[0]}", HTTP_AUTHORIZATION=_basic(app, secret)
    )
    assert response.status_code == 405


def test_authorization_server_metadata(client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == "http://testserver"
    assert meta["authorization_endpoint"] == "http://testserver/oauth/authorize"
    assert meta["token_endpoint"] == "http://testserver/oauth/token"
    assert meta["revocation_endpoint"] == "http://testserver/oauth/revoke"
    assert meta["introspection_endpoint"] == "http://testserver/oauth/introspect"
    assert meta["response_types_supported"] == ["code"]
    assert meta["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert meta["device_authorization_endpoint"] == "http://testserver/oauth/device_authorization"
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert meta["scopes_supported"] == sorted(
        ["monitors:read", "monitors:write", "alerts:read", "alerts:write", "teams:admin"]
    )
    assert meta["authorization_response_iss_parameter_supported"] is True
