"""Chromium: edit an Enterprise key's IP allowlist with sudo, toggle its usage alerts."""

import pytest

from apikeys.models import ApiKey
from apikeys.services import apikey_create
from audit.services import Actor
from tests.browser.helpers import unused_totp_code
from tests.conftest import PASSWORD


@pytest.fixture
def enterprise_key(account_a, alice):
    account_a.plan = "enterprise"
    account_a.save(update_fields=["plan"])
    key, _ = apikey_create(
        account=account_a,
        name="prod-monitoring-cli",
        scopes=["monitors:read"],
        actor=Actor.system("tests"),
        created_by=alice,
    )
    return key


def test_edit_allowlist_and_toggle_usage_alerts(logged_in_page, screenshot, alice, enterprise_key):
    key = enterprise_key
    page = logged_in_page(alice)
    page.goto(f"/settings/api-access/{key.public_id}/")
    panel = page.locator("#restrictions")
    assert "Any address" in panel.inner_text()
    screenshot("restrictions-1-key-detail-enterprise")

    panel.get_by_role("link", name="Edit IP restrictions").click()
    page.get_by_label("Add CIDR blocks").fill("203.0.113.7/24")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(unused_totp_code(alice))
    page.get_by_role("button", name="Save IP restrictions").click()
    error = page.locator(".error, .alert-error").first
    assert "did you mean 203.0.113.0/24?" in error.inner_text()
    screenshot("restrictions-2-host-bits-refused")

    # The page names the browser's own address and offers it in one click.
    assert "Your current address is 127.0.0.1" in page.locator("main").inner_text()
    page.get_by_role("button", name="Add 127.0.0.1/32").click()
    added = page.get_by_label("Add CIDR blocks").input_value().splitlines()
    assert added[-1] == "127.0.0.1/32"
    page.get_by_label("Add CIDR blocks").fill("203.0.113.0/24\n2001:db8:abcd::/48")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(unused_totp_code(alice))
    page.get_by_role("button", name="Save IP restrictions").click()
    # The list leaves out this browser's address: a warning first, nothing saved yet.
    warning = page.locator(".alert-warning[role=alert]")
    assert "Your current address 127.0.0.1 is not in this list" in warning.inner_text()
    assert page.get_by_label("Authenticator code").input_value() == ""  # never refilled
    screenshot("restrictions-2b-lockout-warning")
    key.refresh_from_db()
    assert key.allowed_networks == []
    page.get_by_label("Save anyway").check()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(unused_totp_code(alice))
    page.get_by_role("button", name="Save IP restrictions").click()
    page.wait_for_url(f"**/settings/api-access/{key.public_id}/")
    panel = page.locator("#restrictions")
    assert "203.0.113.0/24" in panel.inner_text() and "2001:db8:abcd::/48" in panel.inner_text()
    screenshot("restrictions-3-allowlist-saved")
    key.refresh_from_db()
    assert key.allowed_networks == ["203.0.113.0/24", "2001:db8:abcd::/48"]

    page.get_by_role("button", name="Turn on usage alerts").click()
    page.wait_for_url(f"**/settings/api-access/{key.public_id}/")
    alerts = page.locator("#usage-alerts")
    assert "On" in alerts.locator("h2").inner_text()
    assert alerts.get_by_role("button", name="Turn off usage alerts").is_visible()
    screenshot("restrictions-4-usage-alerts-on")
    key.refresh_from_db()
    assert key.usage_alerts_enabled is True

    # Removing a block: tick it, confirm again.
    page.goto(f"/settings/api-access/{key.public_id}/allowlist/")
    page.get_by_label("Remove 203.0.113.0/24").check()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(unused_totp_code(alice))  # the last one is spent
    page.get_by_role("button", name="Save IP restrictions").click()
    page.wait_for_url(f"**/settings/api-access/{key.public_id}/")
    assert ApiKey.objects.get(pk=key.pk).allowed_networks == ["2001:db8:abcd::/48"]


def test_team_plan_sees_the_section_disabled(logged_in_page, screenshot, alice, account_a):
    key, _ = apikey_create(
        account=account_a, name="ci", scopes=["monitors:read"], actor=Actor.system("t")
    )
    page = logged_in_page(alice)
    page.goto(f"/settings/api-access/{key.public_id}/")
    panel = page.locator("#restrictions")
    assert "Available on the Enterprise plan" in panel.inner_text()
    assert panel.get_by_role("button", name="Edit IP restrictions").is_disabled()
    screenshot("restrictions-5-team-plan-disabled")
