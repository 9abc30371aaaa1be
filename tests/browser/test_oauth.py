"""OAuth 2.0 in Chromium with off-the-shelf client libraries, against the live server.

1. authlib (PKCE S256): authorization URL → log in with 2FA → consent approved in Chromium →
   code exchanged → GET /v2/monitors → refresh → the old refresh token is refused.
2. requests-oauthlib: register "PagerDuty Sync" in Settings (secret shown once) → approve on the
   consent screen → the grant in Connected Applications → revoke it → the token is refused.

The registered redirect URI is a loopback address nobody listens on; Chromium's request to it is
intercepted, which is exactly where a real client would read the code from.
"""

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.test import Client
from requests_oauthlib import OAuth2Session as RequestsOAuthSession

from oauthapps.models import Authorization
from statuspool.accounts.models import TOTPDevice
from statuspool.monitoring.models import Monitor
from tests.conftest import PASSWORD, totp_now
from tests.oauthapps.helpers import register_app

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "http://127.0.0.1:9/callback"


@pytest.fixture(autouse=True)
def _plain_http_is_fine_on_loopback(monkeypatch):
    # Both libraries refuse http:// unless told this is a local test server.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def capture_callback(page) -> list[str]:
    """Answer Chromium's request to the client's callback and remember its URL."""
    seen = []

    def answer(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Client callback</h1>")

    page.route(f"{CALLBACK}**", answer)
    return seen


def log_in_browser(page, live_server, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def v2(live_server, access_token, path="/v2/monitors"):
    return requests.get(
        f"{live_server.url}{path}",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )


def test_authlib_pkce_flow_consent_api_refresh(page, live_server, screenshot, alice, account_a):
    Monitor.objects.create(
        account=account_a, name="Checkout API", url="https://shop.example/health"
    )
    app, secret = register_app(account_a, redirect_uris=[CALLBACK], user=alice)
    callbacks = capture_callback(page)
    session = OAuth2Session(
        app.client_id,
        secret,
        scope="monitors:read alerts:read",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    url, state = session.create_authorization_url(
        f"{live_server.url}/oauth/authorize", code_verifier=verifier
    )
    assert "code_challenge=" in url and "code_challenge_method=S256" in url

    page.goto(url)  # not logged in: the login page comes first, then 2FA, then back here
    page.fill("#id_email", alice.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    TOTPDevice.objects.filter(user=alice).update(last_used_step=0)
    page.fill("#id_code", totp_now(alice))
    page.get_by_role("button", name="Verify").click()

    assert page.locator("h1").inner_text() == "Authorize PagerDuty Sync"
    assert page.get_by_text("Registered by Acme Monitoring").is_visible()
    assert page.get_by_text("List and view monitor status, uptime history").is_visible()
    screenshot("oauth-consent")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector("text=Client callback")
    assert len(callbacks) == 1

    token = session.fetch_token(
        f"{live_server.url}/oauth/token",
        authorization_response=callbacks[0],
        code_verifier=verifier,
        state=state,
    )
    assert token["access_token"].startswith("sp_oat_")
    assert token["refresh_token"].startswith("sp_ort_")
    assert token["expires_in"] == 3600
    monitors = session.get(f"{live_server.url}/v2/monitors")
    assert monitors.status_code == 200, monitors.text
    assert "Checkout API" in monitors.text

    old_refresh = token["refresh_token"]
    renewed = session.refresh_token(f"{live_server.url}/oauth/token", refresh_token=old_refresh)
    assert renewed["refresh_token"] != old_refresh
    assert v2(live_server, renewed["access_token"]).status_code == 200

    replay = requests.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=(app.client_id, secret),
        timeout=10,
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # Reuse of a spent refresh token revoked the whole family, the renewed pair included.
    assert v2(live_server, renewed["access_token"]).status_code == 401


def test_register_approve_connected_revoke(page, live_server, screenshot, alice, account_a):
    log_in_browser(page, live_server, alice)
    page.goto("/settings/oauth-applications/")
    assert page.get_by_text("No OAuth applications yet").is_visible()
    screenshot("oauth-applications-empty")
    page.get_by_role("link", name="Register New Client").first.click()
    page.fill("#id_name", "PagerDuty Sync")
    page.fill("#id_description", "Creates PagerDuty incidents from StatusPool alerts.")
    page.fill("#id_redirect_uris", CALLBACK)
    screenshot("oauth-register-form")
    page.get_by_role("button", name="Register client").click()

    client_id = page.locator("#client-id").inner_text().strip()
    client_secret = page.locator("#client-secret").inner_text().strip()
    assert len(client_secret) == 128
    assert page.get_by_text("It is shown only once").is_visible()
    screenshot("oauth-client-secret-once")
    page.get_by_role("link", name="I have stored the secret — continue").click()
    assert page.locator("h1").inner_text() == "PagerDuty Sync"
    assert client_secret not in page.content()
    screenshot("oauth-application-detail")

    callbacks = capture_callback(page)
    session = RequestsOAuthSession(
        client_id, redirect_uri=CALLBACK, scope=["monitors:read", "alerts:read"], pkce="S256"
    )
    url, _state = session.authorization_url(f"{live_server.url}/oauth/authorize")
    page.goto(url)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector("text=Client callback")
    token = session.fetch_token(
        f"{live_server.url}/oauth/token",
        authorization_response=callbacks[0],
        client_secret=client_secret,
    )
    assert v2(live_server, token["access_token"]).status_code == 200

    page.goto("/settings/connected-applications/")
    row = page.locator("tr", has_text="PagerDuty Sync")
    assert row.get_by_text("Acme Monitoring").is_visible()
    assert row.get_by_text("monitors:read").is_visible()
    screenshot("oauth-connected-applications")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    assert page.get_by_text("No connected applications").is_visible()
    assert page.get_by_text("Its tokens stopped working").is_visible()
    screenshot("oauth-connected-revoked")
    assert Authorization.objects.get().revoked_at is not None

    refused = v2(live_server, token["access_token"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
