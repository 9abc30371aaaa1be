"""Settings → API Access in Chromium: create a key (sudo), copy it, use it, rotate, revoke;
reactivate a suspended key (sudo), keep a stale key active, and edit a key's scopes."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apikeys.models import ApiKey, Status
from apikeys.services import apikey_create, apikey_create_default, apikey_suspend
from audit.models import AuditEvent
from audit.services import Actor
from tests.browser.helpers import fill_sudo, v2

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_copy_use_rotate_revoke(live_server, logged_in_page, screenshot, alice, account_a):
    apikey_create_default(account=account_a, actor=Actor.system(label="tests"), created_by=alice)
    page = logged_in_page(alice)

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

    response = v2(live_server, raw)
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
    assert v2(live_server, new_raw).status_code == 200
    assert v2(live_server, raw).status_code == 200  # grace period

    page.get_by_role("link", name="I have stored the key — continue").click()
    page.get_by_role("link", name="Revoke").click()
    page.fill("#id_reason", "compromised")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke key").click()
    page.wait_for_selector(".badge-revoked")
    assert page.get_by_text("was revoked").is_visible()
    screenshot("apikeys-revoked")

    refused = v2(live_server, new_raw)
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


def test_reactivate_keep_active_and_edit_scopes(
    live_server, logged_in_page, screenshot, alice, account_a
):
    actor = Actor.system(label="tests")
    suspended, suspended_raw = apikey_create(
        account=account_a,
        name="nightly-report",
        scopes=["monitors:read"],
        actor=actor,
        created_by=alice,
    )
    apikey_suspend(key=suspended, actor=actor, reason="unused for 90 days")
    stale, stale_raw = apikey_create(
        account=account_a,
        name="quarterly-export",
        scopes=["monitors:read", "alerts:read"],
        actor=actor,
        created_by=alice,
    )
    ApiKey.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=61))
    refused = v2(live_server, suspended_raw)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "key_suspended"
    page = logged_in_page(alice)

    # 1. The suspended key comes back with a sudo confirmation, and the API accepts it again.
    page.goto("/settings/api-access/")
    expect(
        page.locator("tr", has_text="nightly-report").locator(".badge-suspended")
    ).to_be_visible()
    expect(page.locator("tr", has_text="quarterly-export").locator(".badge-stale")).to_be_visible()
    screenshot("apikeys-list-suspended-and-stale")
    page.get_by_role("link", name="nightly-report").click()
    expect(page.get_by_text("This key is suspended")).to_be_visible()
    screenshot("apikeys-suspended-detail")
    page.get_by_role("link", name="Reactivate", exact=True).click()
    expect(page.get_by_role("heading", name="Reactivate “nightly-report”")).to_be_visible()
    fill_sudo(page, alice)
    screenshot("apikeys-reactivate-form")
    page.get_by_role("button", name="Reactivate key").click()
    expect(page.get_by_text("The key “nightly-report” works again.")).to_be_visible()
    expect(page.locator(".badge-suspended")).to_have_count(0)
    expect(page.get_by_text("This key is suspended")).to_have_count(0)
    screenshot("apikeys-reactivated")
    suspended.refresh_from_db()
    assert suspended.status == Status.ACTIVE and suspended.suspended_at is None
    assert v2(live_server, suspended_raw).status_code == 200

    # 2. A key idle for 61 days: the warning offers "Keep active", which restarts the clock.
    page.goto("/settings/api-access/")
    page.get_by_role("link", name="quarterly-export").click()
    warning = page.locator(".alert-warning")
    expect(warning).to_contain_text("This key has not been used since")
    expect(warning).to_contain_text("It will be suspended automatically on")
    screenshot("apikeys-stale-detail")
    warning.get_by_role("button", name="Keep active").click()
    expect(page.get_by_text("is no longer stale")).to_be_visible()
    expect(page.locator(".badge-stale")).to_have_count(0)
    expect(page.get_by_role("button", name="Keep active")).to_have_count(0)
    screenshot("apikeys-kept-active")
    stale.refresh_from_db()
    assert timezone.now() - stale.kept_active_at < timedelta(minutes=1)
    assert not stale.is_stale and stale.status == Status.ACTIVE
    assert AuditEvent.objects.filter(action="apikey.kept_active", target_id=str(stale.pk)).exists()

    # 3. Edit scopes: taking alerts:read away needs no confirmation...
    page.get_by_role("link", name="Edit scopes").click()
    expect(page.get_by_label("alerts:read")).to_be_checked()
    page.get_by_label("alerts:read").uncheck()
    screenshot("apikeys-scopes-remove")
    page.get_by_role("button", name="Save scopes").click()
    expect(page.get_by_text("Scopes of “quarterly-export” saved.")).to_be_visible()
    expect(page.locator(".scope-list")).not_to_contain_text("alerts:read")
    screenshot("apikeys-scopes-removed")
    stale.refresh_from_db()
    assert stale.scopes == ["monitors:read"]
    assert v2(live_server, stale_raw).json()["scopes"] == ["monitors:read"]

    # ...adding monitors:write does: refused without password and code, saved with them.
    page.get_by_role("link", name="Edit scopes").click()
    page.get_by_label("monitors:write").check()
    page.get_by_role("button", name="Save scopes").click()
    expect(page.locator("fieldset.sudo .has-error").first).to_be_visible()
    expect(page.get_by_label("monitors:write")).to_be_checked()  # the choice is kept
    screenshot("apikeys-scopes-add-needs-sudo")
    stale.refresh_from_db()
    assert stale.scopes == ["monitors:read"]
    fill_sudo(page, alice)
    page.get_by_role("button", name="Save scopes").click()
    expect(page.get_by_text("Scopes of “quarterly-export” saved.")).to_be_visible()
    expect(page.locator(".scope-list")).to_contain_text("monitors:write")
    screenshot("apikeys-scopes-added")
    stale.refresh_from_db()
    assert stale.scopes == ["monitors:read", "monitors:write"]
    assert v2(live_server, stale_raw).json()["scopes"] == ["monitors:read", "monitors:write"]
    changes = AuditEvent.objects.filter(action="apikey.scopes_changed", target_id=str(stale.pk))
    assert [event.details["after"] for event in changes.order_by("id")] == [
        ["monitors:read"],
        ["monitors:read", "monitors:write"],
    ]
