"""OAuth 2.0 in Chromium with off-the-shelf client libraries, against the live server.

1. authlib (PKCE S256): authorization URL → log in with 2FA → consent approved in Chromium →
   code exchanged → GET /v2/monitors → refresh → the old refresh token is refused.
2. requests-oauthlib: register "PagerDuty Sync" in Settings (secret shown once) → approve on the
   consent screen → the grant in Connected Applications → revoke it → the token is refused.
3. Settings → OAuth Applications: edit an application, reset its secret (sudo, shown once: the old
   secret is refused at the token endpoint), delete it (confirmation + sudo: its tokens stop).

The registered redirect URI is a loopback address nobody listens on; Chromium's request to it is
intercepted, which is exactly where a real client would read the code from.
"""

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from playwright.sync_api import expect
from requests_oauthlib import OAuth2Session as RequestsOAuthSession

from audit.models import AuditEvent
from oauthapps.models import AccessToken, Application, Authorization
from statuspool.monitoring.models import Monitor
from tests.browser.helpers import fill_sudo, unused_totp_code, v2
from tests.conftest import PASSWORD
from tests.oauthapps.helpers import issue_tokens, register_app

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
    page.fill("#id_code", unused_totp_code(alice))
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


def test_register_approve_connected_revoke(
    live_server, logged_in_page, screenshot, alice, account_a
):
    page = logged_in_page(alice)
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
    assert row.get_by_role("cell", name="Acme Monitoring", exact=True).is_visible()
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


def token_refresh(live_server, client_id, secret, refresh_token):
    return requests.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(client_id, secret),
        timeout=10,
    )


def test_edit_reset_secret_and_delete_application(
    live_server, logged_in_page, screenshot, alice, bob, account_a
):
    app, old_secret = register_app(account_a, redirect_uris=[CALLBACK], user=alice)
    _alice_access, alice_refresh = issue_tokens(app, alice, account_a, ["monitors:read"])
    bob_access, _bob_refresh = issue_tokens(app, bob, account_a, ["monitors:read", "alerts:read"])
    page = logged_in_page(alice)

    # 1. Edit: a plain-http redirect URI is refused with the reason, then the fixed form saves.
    page.goto("/settings/oauth-applications/")
    row = page.locator("tr", has_text="PagerDuty Sync")
    expect(row.get_by_role("cell", name="2", exact=True)).to_be_visible()  # active grants
    screenshot("oauth-apps-list")
    row.get_by_role("link", name="PagerDuty Sync").click()
    page.get_by_role("link", name="Edit", exact=True).click()
    # The form opens with the application's current values, so changing one keeps the others.
    expect(page.get_by_label("Name")).to_have_value("PagerDuty Sync")
    expect(page.get_by_label("Description")).to_have_value("Syncs incidents with PagerDuty.")
    expect(page.get_by_label("Redirect URIs")).to_have_value(CALLBACK)
    page.get_by_label("Name").fill("PagerDuty Incident Sync")
    page.get_by_label("Redirect URIs").fill(f"{CALLBACK}\nhttp://hooks.pagerduty.example/cb")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".error").first).to_contain_text("must use https")
    screenshot("oauth-app-edit-refused")
    app.refresh_from_db()
    assert app.name == "PagerDuty Sync" and app.redirect_uri_list == [CALLBACK]

    page.get_by_label("Redirect URIs").fill(f"{CALLBACK}\nhttps://hooks.pagerduty.example/cb")
    screenshot("oauth-app-edit-form")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="PagerDuty Incident Sync", exact=True)).to_be_visible()
    expect(page.get_by_text("was updated")).to_be_visible()
    expect(page.get_by_text("https://hooks.pagerduty.example/cb")).to_be_visible()
    screenshot("oauth-app-edited")
    app.refresh_from_db()
    assert app.name == "PagerDuty Incident Sync"
    assert app.description == "Syncs incidents with PagerDuty."
    assert app.redirect_uri_list == [CALLBACK, "https://hooks.pagerduty.example/cb"]

    # 2. Reset the secret (confirm + sudo): the new one is shown once, the old one is refused.
    page.get_by_role("link", name="Reset secret").click()
    fill_sudo(page, alice)
    screenshot("oauth-app-reset-secret-form")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset secret").click()
    expect(page.get_by_role("heading", name="New client secret")).to_be_visible()
    expect(page.get_by_text("The previous secret no longer works.")).to_be_visible()
    new_secret = page.locator("#client-secret").inner_text().strip()
    assert len(new_secret) == 128 and new_secret != old_secret
    screenshot("oauth-app-new-secret-once")
    app.refresh_from_db()
    assert app.secret_reset_at is not None
    refused = token_refresh(live_server, app.client_id, old_secret, alice_refresh)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    renewed = token_refresh(live_server, app.client_id, new_secret, alice_refresh)
    assert renewed.status_code == 200, renewed.text
    alice_access = renewed.json()["access_token"]
    assert v2(live_server, alice_access).status_code == 200
    page.get_by_role("link", name="I have stored the secret — continue").click()
    expect(page.get_by_text("Last reset")).to_be_visible()
    assert new_secret not in page.content()

    # 3. Delete (confirm + sudo): the application and every token it held are gone.
    page.get_by_role("link", name="Delete application").click()
    expect(page.get_by_text("2 active grants will stop working")).to_be_visible()
    fill_sudo(page, alice)
    screenshot("oauth-app-delete-form")
    prompts = []

    def accept(dialog):
        prompts.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Delete application").click()
    expect(page.get_by_text("was deleted and every token it held was revoked")).to_be_visible()
    expect(page.get_by_text("No OAuth applications yet")).to_be_visible()
    screenshot("oauth-app-deleted")
    assert prompts == ["Delete PagerDuty Incident Sync and revoke all its tokens?"]
    assert not Application.objects.filter(pk=app.pk).exists()
    assert not AccessToken.objects.filter(application_id=app.pk).exists()
    event = AuditEvent.objects.get(action="oauth.application_deleted")
    assert event.actor == alice and event.details["authorizations_revoked"] == 2
    for access in (alice_access, bob_access):
        gone = v2(live_server, access)
        assert gone.status_code == 401 and gone.json()["error"]["code"] == "invalid_token"
