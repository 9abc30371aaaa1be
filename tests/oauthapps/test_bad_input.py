"""NUL characters in OAuth client credentials are a 401 invalid_client, never a 500 (issue 11).

django-oauth-toolkit expects the database driver to refuse such a lookup with a ValueError;
psycopg 3 raises DataError from the query instead (a 500 since oauthlib 4 stopped refusing NUL in
parameters first), so the validator treats such a client_id as unknown itself.
"""

import base64

import pytest
from django.test import Client

from tests.oauthapps.helpers import register_app

pytestmark = pytest.mark.django_db

REFRESH = {"grant_type": "refresh_token", "refresh_token": "x"}


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.fixture
def app_and_secret(account_a, alice):
    return register_app(account_a, user=alice)


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_nul_in_basic_credentials(app_and_secret, endpoint):
    app, secret = app_and_secret
    client = Client(raise_request_exception=False)
    for raw in (
        b"a\x00b:s",
        f"{app.client_id}:a\x00b".encode(),
        f"{app.client_id}\x00:{secret}".encode(),
    ):
        response = client.post(endpoint, {**REFRESH, "token": "x"}, HTTP_AUTHORIZATION=_basic(raw))
        assert response.status_code == 401, response.content
        assert response.json()["error"] == "invalid_client"


def test_nul_in_a_body_client_id(app_and_secret):
    client = Client(raise_request_exception=False)
    body = "grant_type=refresh_token&refresh_token=x&client_id=a%00b&client_secret=s"
    response = client.post("/oauth/token", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
