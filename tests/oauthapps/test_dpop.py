"""DPoP (RFC 9449): proofs at the token endpoint, bound tokens at /v2, binding in introspection."""

import base64
import time
from urllib.parse import urlencode

import pytest
from django.test import Client

from oauthapps.authentication import InvalidDPoPProof, authenticate_access_token
from oauthapps.models import AccessToken, RefreshToken
from tests.conftest import login
from tests.oauthapps.device_helpers import DEVICE_GRANT, allow_next_poll, approve, start
from tests.oauthapps.dpop_helpers import ec_key, proof, rsa_key
from tests.oauthapps.helpers import REDIRECT_URI, obtain_code

TOKEN_URL = "http://testserver/oauth/token"
MONITORS_URL = "http://testserver/v2/monitors"


def _basic(app, secret):
    return "Basic " + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()


def _nonce(client, app, secret, key):
    """The server's answer to a proof without a nonce: use_dpop_nonce and a DPoP-Nonce."""
    response = client.post(
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": "x"},
        HTTP_AUTHORIZATION=_basic(app, secret),
        HTTP_DPOP=proof(key, "POST", TOKEN_URL),
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "use_dpop_nonce", response.content
    return response["DPoP-Nonce"]


def _code_exchange(client, app, secret, key=None, nonce=None):
    person = login(Client(), app.created_by)
    code, verifier = obtain_code(person, app)
    headers = {"HTTP_AUTHORIZATION": _basic(app, secret)}
    if key is not None:
        headers["HTTP_DPOP"] = proof(key, "POST", TOKEN_URL, nonce=nonce)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
    }
    return client.post("/oauth/token", data, **headers)


def _bound_token(client, app, secret, key):
    response = _code_exchange(client, app, secret, key, _nonce(client, app, secret, key))
    assert response.status_code == 200, response.content
    return response.json()


def _v2(client, token, *, scheme="DPoP", dpop=None):
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if dpop is not None:
        headers["HTTP_DPOP"] = dpop
    return client.get("/v2/monitors", **headers)


def _assert_dpop_401(response):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("DPoP ")
    assert 'error="invalid_dpop_proof"' in response["WWW-Authenticate"]
    assert response.json()["error"]["code"] == "invalid_dpop_proof"


def test_token_endpoint_asks_for_a_nonce_then_binds_the_token(client, app, secret):
    key = ec_key()
    body = _bound_token(client, app, secret, key)
    assert body["token_type"] == "DPoP"
    token = AccessToken.objects.get()
    assert token.jkt == key.thumbprint()
    assert RefreshToken.objects.get().jkt == ""  # confidential client: refresh bound by its secret


def test_bound_token_works_only_with_a_fresh_proof_of_the_same_key(client, app, secret):
    key = ec_key()
    access = _bound_token(client, app, secret, key)["access_token"]
    good = proof(key, "GET", MONITORS_URL, access_token=access)
    assert _v2(client, access, dpop=good).status_code == 200
    _assert_dpop_401(_v2(client, access, dpop=good))  # the same proof again: jti seen
    _assert_dpop_401(_v2(client, access, scheme="Bearer"))  # bound token as a bearer token
    _assert_dpop_401(_v2(client, access))  # no proof at all
    other = proof(ec_key(), "GET", MONITORS_URL, access_token=access)
    _assert_dpop_401(_v2(client, access, dpop=other))  # another key
    wrong_url = proof(key, "GET", "http://testserver/v2/alert-rules", access_token=access)
    _assert_dpop_401(_v2(client, access, dpop=wrong_url))
    wrong_method = proof(key, "POST", MONITORS_URL, access_token=access)
    _assert_dpop_401(_v2(client, access, dpop=wrong_method))
    no_ath = proof(key, "GET", MONITORS_URL)
    _assert_dpop_401(_v2(client, access, dpop=no_ath))
    stale = proof(key, "GET", MONITORS_URL, access_token=access, iat=int(time.time()) - 600)
    _assert_dpop_401(_v2(client, access, dpop=stale))
    again = proof(key, "GET", MONITORS_URL, access_token=access)
    assert _v2(client, access, dpop=again).status_code == 200


def test_bearer_token_is_not_accepted_under_the_dpop_scheme(client, app, secret):
    response = _code_exchange(client, app, secret)
    access = response.json()["access_token"]
    assert response.json()["token_type"] == "Bearer"
    key = ec_key()
    refused = _v2(client, access, dpop=proof(key, "GET", MONITORS_URL, access_token=access))
    assert refused.status_code == 401
    assert _v2(client, access, scheme="Bearer").status_code == 200


def test_api_keys_cannot_be_sent_under_the_dpop_scheme(client, account_a):
    from apikeys.services import apikey_create
    from audit.services import Actor

    _, raw = apikey_create(
        account=account_a,
        name="k",
        scopes=["monitors:read"],
        actor=Actor.system("t"),
        created_by=None,
    )
    assert _v2(client, raw, scheme="Bearer").status_code == 200
    assert _v2(client, raw).status_code == 401


@pytest.mark.parametrize(
    "build, reason",
    [
        (lambda key: proof(key, "POST", "http://testserver/oauth/revoke"), "htu"),
        (lambda key: proof(key, "GET", TOKEN_URL), "htm"),
        (lambda key: proof(key, "POST", TOKEN_URL, iat=int(time.time()) + 600), "iat"),
        (lambda key: proof(key, "POST", TOKEN_URL, typ="JWT"), "typ"),
        (lambda key: proof(key, "POST", TOKEN_URL, jwk=key.as_dict(private=True)), "private"),
        (lambda key: proof(key, "POST", TOKEN_URL) + "x", "signature"),
        (lambda key: "not.a.jwt", "garbage"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_token_endpoint_refuses_bad_proofs(client, app, secret, build, reason, settings):
    settings.OAUTH_DPOP_NONCE_REQUIRED = False
    response = client.post(
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": "x"},
        HTTP_AUTHORIZATION=_basic(app, secret),
        HTTP_DPOP=build(ec_key()),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"


def test_rs256_proofs_are_accepted_and_jti_is_single_use_at_the_token_endpoint(
    client, app, secret, settings
):
    settings.OAUTH_DPOP_NONCE_REQUIRED = False
    key = rsa_key()
    person = login(Client(), app.created_by)
    code, verifier = obtain_code(person, app)
    single = proof(key, "POST", TOKEN_URL)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
    }
    ok = client.post("/oauth/token", data, HTTP_AUTHORIZATION=_basic(app, secret), HTTP_DPOP=single)
    assert ok.status_code == 200, ok.content
    assert ok.json()["token_type"] == "DPoP"
    assert AccessToken.objects.get().jkt == key.thumbprint()
    replay = client.post(
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": ok.json()["refresh_token"]},
        HTTP_AUTHORIZATION=_basic(app, secret),
        HTTP_DPOP=single,
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_dpop_proof"


def test_application_requiring_dpop_refuses_token_requests_without_proof(client, app, secret):
    app.require_dpop = True
    app.save()
    refused = _code_exchange(client, app, secret)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    assert not AccessToken.objects.exists()
    key = ec_key()
    assert _bound_token(client, app, secret, key)["token_type"] == "DPoP"


def test_introspection_shows_the_binding(client, app, secret):
    key = ec_key()
    access = _bound_token(client, app, secret, key)["access_token"]
    response = client.post(
        "/oauth/introspect", {"token": access}, HTTP_AUTHORIZATION=_basic(app, secret)
    )
    body = response.json()
    assert body["active"] is True
    assert body["token_type"] == "DPoP" and body["cnf"] == {"jkt": key.thumbprint()}


def test_public_client_refresh_token_is_bound_to_the_key(
    client, cli_app, alice, account_a, settings
):
    settings.OAUTH_DPOP_NONCE_REQUIRED = False
    key = ec_key()
    body = start(client, cli_app).json()
    approve(login(Client(), alice), body["user_code"], account_a)
    allow_next_poll()
    data = {"grant_type": DEVICE_GRANT, "device_code": body["device_code"]}
    data["client_id"] = cli_app.client_id
    issued = client.post("/oauth/token", data, HTTP_DPOP=proof(key, "POST", TOKEN_URL))
    assert issued.status_code == 200, issued.content
    tokens = issued.json()
    assert tokens["token_type"] == "DPoP"
    assert RefreshToken.objects.get().jkt == key.thumbprint()

    def refresh(with_key):
        headers = {} if with_key is None else {"HTTP_DPOP": proof(with_key, "POST", TOKEN_URL)}
        form = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": cli_app.client_id,
        }
        return client.post(
            "/oauth/token",
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
            **headers,
        )

    assert refresh(None).json()["error"] == "invalid_grant"  # a stolen refresh token is useless
    assert refresh(ec_key()).json()["error"] == "invalid_grant"
    renewed = refresh(key)
    assert renewed.status_code == 200, renewed.content
    assert renewed.json()["token_type"] == "DPoP"
    assert RefreshToken.objects.get(revoked__isnull=True).jkt == key.thumbprint()


def test_dpop_check_adds_no_query(app, bob, account_a, client, secret, django_assert_num_queries):
    """The thumbprint comes with the cached credential; the proof is checked on every request."""
    from django.test import RequestFactory

    key = ec_key()
    access = _bound_token(client, app, secret, key)["access_token"]

    def request(signed_by):
        return RequestFactory().get(
            "/v2/monitors",
            HTTP_AUTHORIZATION=f"DPoP {access}",
            HTTP_DPOP=proof(signed_by, "GET", MONITORS_URL, access_token=access),
        )

    authenticate_access_token(access, request(key))  # a miss: the token row, now cached
    with django_assert_num_queries(0):
        authenticate_access_token(access, request(key))
    with django_assert_num_queries(0), pytest.raises(InvalidDPoPProof):
        authenticate_access_token(access, request(ec_key()))  # a hit still needs the bound key


def test_replays_are_still_refused_in_process_when_redis_is_down(settings, caplog):
    from oauthapps import dpop

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    key = ec_key()
    made = proof(key, "GET", MONITORS_URL)
    assert dpop.verify_proof(made, method="GET", url=MONITORS_URL).jkt == key.thumbprint()
    with pytest.raises(dpop.DPoPError, match="already used"):
        dpop.verify_proof(made, method="GET", url=MONITORS_URL)
    assert "Shared cache unavailable for DPoP jti replay checks" in caplog.text
