"""Issue 10 item 7: credentials in URLs, everywhere.

Reproduction: /v2/schema and /v2/docs answered 200 to ?api_key=… (the rest of /v2 refused it), and
in production a plain-http request carrying a credential was redirected to https — so the client
sent it a second time.
"""

import pytest

from statuspool import api_key_format as tokens

pytestmark = pytest.mark.django_db
KEY = tokens.generate()


@pytest.mark.parametrize("path", ["/v2/schema", "/v2/docs"])
@pytest.mark.parametrize(
    "query",
    [f"api_key={KEY}", f"access_token=sp_oat_{'a' * 40}", "token=anything", f"q={KEY}"],
    ids=["api_key", "access_token", "token-name", "value"],
)
def test_public_api_pages_refuse_credentials_in_the_url(client, path, query):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "credential_in_url"
    assert KEY not in response.content.decode()


@pytest.mark.parametrize("path", ["/v2/schema", "/v2/docs"])
def test_public_api_pages_still_open_without_credentials(client, path):
    assert client.get(path).status_code == 200


@pytest.fixture
def production_https(settings):
    settings.SECURE_SSL_REDIRECT = True


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"path": "/v2/monitors", "HTTP_AUTHORIZATION": f"Bearer {KEY}"},
        {"path": f"/v2/monitors?api_key={KEY}"},
        {"path": f"/v2/schema?access_token=sp_oat_{'b' * 40}"},
        {"path": f"/settings/api-access/?k={KEY}"},
    ],
    ids=["header", "v2-query", "schema-query", "dashboard-query"],
)
def test_plain_http_with_a_credential_is_refused_not_redirected(
    client, production_https, request_kwargs
):
    response = client.get(**request_kwargs)
    assert response.status_code == 400
    assert "Location" not in response
    assert response.json()["error"]["code"] == "https_required"
    assert KEY not in response.content.decode()


def test_plain_http_token_request_with_a_client_secret_is_refused(client, production_https):
    response = client.post(
        "/oauth/token", {"grant_type": "refresh_token", "client_secret": "s" * 40}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "https_required"


def test_plain_http_without_a_credential_is_still_redirected(client, production_https):
    response = client.get("/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_https_with_a_credential_is_served(client, production_https):
    response = client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {KEY}", secure=True)
    assert response.status_code == 401  # authenticated normally (an unknown key here)
