"""Settings → Team in Chromium: who is in the account, and switching between two accounts."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from statuspool.accounts.middleware import SESSION_KEY
from statuspool.accounts.models import Membership, Role
from tests.conftest import make_user
from tests.monitoring.conftest import make_monitor

pytestmark = pytest.mark.django_db(transaction=True)


def current_account_id(page):
    """The account the browser's session is working in, read from the session store."""
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    return SessionStore(session_key=cookie["value"]).get(SESSION_KEY)


def test_team_members_and_account_switcher(
    logged_in_page, screenshot, alice, bob, charlie, account_a, account_b
):
    Membership.objects.create(user=alice, account=account_b, role=Role.MEMBER)
    dave = make_user("dave@acme.test", full_name="Dave Newcomer", with_2fa=False)
    Membership.objects.create(user=dave, account=account_a, role=Role.MEMBER)
    make_monitor(account_a, "Acme API")
    make_monitor(account_b, "Bravo Secret Project")
    page = logged_in_page(alice)

    # 1. Acme Monitoring, where Alice is the owner: owner first, then admins, then members.
    page.goto("/settings/team/")
    expect(page.locator(".page-header")).to_contain_text("People in Acme Monitoring")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Alice Owner (you)")
    expect(rows.nth(1)).to_contain_text("bob@acme.test")
    expect(rows.nth(2)).to_contain_text("dave@acme.test")
    expect(rows.nth(2).locator(".badge-stale")).to_have_text("Off")  # Dave has no 2FA yet
    expect(page.get_by_role("columnheader", name="Two-factor")).to_be_visible()
    expect(page.get_by_text("charlie@bravo.test")).to_have_count(0)
    screenshot("team-01-acme-owner")

    # 2. The switcher lists only her accounts; switching to Bravo Labs makes her a member there.
    switcher = page.get_by_role("combobox", name="Account")
    options = switcher.locator("option").all_inner_texts()
    assert options == ["Acme Monitoring (Owner)", "Bravo Labs (Member)"]
    switcher.select_option(label="Bravo Labs (Member)")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_text("You are now working in Bravo Labs.")).to_be_visible()
    expect(page.locator(".page-header")).to_contain_text("People in Bravo Labs")
    expect(page.locator(".account-name")).to_contain_text("Bravo Labs · Member")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("charlie@bravo.test")
    expect(rows.nth(1)).to_contain_text("Alice Owner (you)")
    expect(page.get_by_role("columnheader", name="Two-factor")).to_have_count(0)
    sidebar = page.get_by_role("navigation", name="Settings")
    expect(sidebar.get_by_role("link", name="API Access")).to_have_count(0)
    screenshot("team-02-switched-to-bravo")
    assert current_account_id(page) == account_b.pk

    # What she sees follows the account: Bravo's monitors, and no credential screens.
    page.get_by_role("link", name="Monitors", exact=True).click()
    expect(page.get_by_role("link", name="Bravo Secret Project")).to_be_visible()
    expect(page.get_by_text("Acme API")).to_have_count(0)
    screenshot("team-03-bravo-monitors")
    assert page.goto("/settings/api-access/").status == 404

    # 3. And back.
    page.goto("/settings/team/")
    page.get_by_role("combobox", name="Account").select_option(label="Acme Monitoring (Owner)")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator(".account-name")).to_contain_text("Acme Monitoring · Owner")
    assert current_account_id(page) == account_a.pk
