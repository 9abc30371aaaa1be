"""Settings → API Access in Chromium: create a key (sudo), copy it, use it, rotate, revoke."""

import pytest
import requests
from django.conf import settings
from django.test import Client

from apikeys.models import ApiKey, Status
from apikeys.services import apikey_create_default
from audit.models import AuditEvent
from audit.services import Actor
from statuspool.accounts.models import TOTPDevice
from tests.conftest import PASSWORD, totp_now

pytestmark = pytest.mark.django_db(transaction=True)


def log_in_browser(page, live_server, user):
    """A session made by Django's test client (password + 2FA passed), handed to Chromium."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def fill_sudo(page, user):
    # Every confirmation needs an unused code; the test does not wait 30 s for the next one.
    TOTPDevice.objects.filter(user=user).update(last_used_step=0)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_code", totp_now(user))


def call_credential(live_server, raw):
    return requests.get(
        f"{live_server.url}/v2/credential",
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_create_copy_use_rotate_revoke(page, live_server, screenshot, alice, account_a):
    apikey_create_default(account=account_a, actor=Actor.system(label="tests"), created_by=alice)
    log_in_browser(page, live_server, alice)

    page.goto("/settings/api-access/")
    assert page.locator("h1").inner_text() == "API Access"
    assert page.locator("table").get_by_text("Default key").is_visible()
    screenshot("apikeys-list")

    page.get_by_role("link", name="Create API Key").first.click()
    page.fill("#id_name", "prod-monitoring-cli")
    page.get_by_label("monitors:read").check()
    page.get_by_label("alerts:read").check()
    fill_sudo(page, alice)
    screenshot("apikeys-create-form")
    page.get_by_role("button", name="Create API Key").click()

    raw = page.locator("#new-key").inner_text().strip()
    assert raw.startswith("sp_live_") and len(raw) == 48
    assert page.get_by_text("Never embed keys in client-side JavaScript").is_visible()
    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    screenshot("apikeys-show-once")

    response = call_credential(live_server, raw)
    assert response.status_code == 200, response.text
    assert sorted(response.json()["scopes"]) == ["alerts:read", "monitors:read"]

    page.get_by_role("link", name="I have stored the key — continue").click()
    assert page.locator("h1").inner_text() == "prod-monitoring-cli"
    assert raw not in page.content()
    screenshot("apikeys-detail")

    page.get_by_role("link", name="Rotate").click()
    page.get_by_label("Keep the old key working for 1 hour").check()
    fill_sudo(page, alice)
    screenshot("apikeys-rotate")
    page.get_by_role("button", name="Rotate key").click()
    new_raw = page.locator("#new-key").inner_text().strip()
    assert new_raw != raw and page.get_by_text("keeps working until").is_visible()
    screenshot("apikeys-rotated-show-once")
    assert call_credential(live_server, new_raw).status_code == 200
    assert call_credential(live_server, raw).status_code == 200  # grace period

    page.get_by_role("link", name="I have stored the key — continue").click()
    page.get_by_role("link", name="Revoke").click()
    page.fill("#id_reason", "compromised")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke key").click()
    page.wait_for_selector(".badge-revoked")
    assert page.get_by_text("was revoked").is_visible()
    screenshot("apikeys-revoked")

    refused = call_credential(live_server, new_raw)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
    new_key = ApiKey.objects.get(name="prod-monitoring-cli", rotated_from__isnull=False)
    assert new_key.status == Status.REVOKED and new_key.revoked_reason == "compromised"
    assert new_key.revoked_by == alice
    actions = set(AuditEvent.objects.filter(actor=alice).values_list("action", flat=True))
    assert {"apikey.created", "apikey.rotated", "apikey.revoked"} <= actions

    page.goto("/settings/api-access/")
    page.locator("summary").click()
    screenshot("apikeys-list-after")
