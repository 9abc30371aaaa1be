"""Issue 15 in Chromium: an owner invites a new person, who signs up through the emailed link,
enrolls 2FA (the account requires it) and joins; the owner demotes and removes them and their
OAuth token for the account is refused on the next request. Password reset end to end. The
header's account switcher and the Billing page."""

import re

import pyotp
import pytest
from django.core import mail
from playwright.sync_api import expect

from statuspool.accounts.models import Invitation, Membership, Role, User
from tests.browser.conftest import SCREENSHOTS
from tests.browser.helpers import fill_sudo, unused_totp_code, v2
from tests.conftest import PASSWORD
from tests.oauthapps.helpers import issue_tokens, register_app

pytestmark = pytest.mark.django_db(transaction=True)

ERIN = "erin@newcomer.test"
ERIN_PASSWORD = "quartz-meadow-violin-58"


def shoot(page, name: str) -> None:
    """A screenshot of another browser context's page (the ``screenshot`` fixture shoots the
    fixture's own page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _link(pattern: str, to: str) -> str:
    """The path of the link in the last email to ``to`` (SITE_URL is not the live server)."""
    message = next(m for m in reversed(mail.outbox) if m.to == [to])
    return re.search(r"https?://[^/\s]+(" + pattern + ")", message.body).group(1)


def test_invite_signup_with_2fa_join_then_demote_and_remove(
    browser, live_server, logged_in_page, screenshot, account_a, alice, bob
):
    account_a.require_2fa = True
    account_a.save()
    owner = logged_in_page(alice)
    owner.on("dialog", lambda dialog: dialog.accept())

    # 1. Alice invites Erin as an admin (inviting an admin needs sudo).
    owner.goto("/settings/team/")
    expect(owner.get_by_text("No pending invitations")).to_be_visible()
    screenshot("teams-01-team-page-owner")
    owner.get_by_role("link", name="Invite someone").first.click()
    owner.get_by_label("Email address").fill(ERIN)
    owner.get_by_label("Role").select_option("admin")
    fill_sudo(owner, alice)
    screenshot("teams-02-invite-form")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.get_by_text(f"Invitation sent to {ERIN}.")).to_be_visible()
    row = owner.locator("section[aria-labelledby=invitations-title] tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(ERIN)
    expect(row).to_contain_text("alice@acme.test")  # who sent it
    screenshot("teams-03-pending-invitation")

    # 2. Erin opens the emailed link in her own browser and signs up.
    link = _link(r"/invitations/sp_inv_\w+/", ERIN)
    erin_context = browser.new_context(base_url=live_server.url)
    erin = erin_context.new_page()
    erin.goto(link)
    assert "sp_inv_" not in erin.url  # the token left the address bar
    expect(erin.get_by_role("heading", name="Join Acme Monitoring")).to_be_visible()
    expect(erin.get_by_text("alice@acme.test invited")).to_be_visible()
    shoot(erin, "teams-04-invitation-landing")
    erin.get_by_role("link", name="Sign up and join").click()
    expect(erin.locator("#id_email_display")).to_have_value(ERIN)
    erin.get_by_label("Full name").fill("Erin Newcomer")
    erin.get_by_label("Password").fill(ERIN_PASSWORD)
    shoot(erin, "teams-05-invitation-signup")
    erin.get_by_role("button", name="Sign up").click()

    # 3. The account requires 2FA: she enrolls before she can join.
    expect(erin.get_by_text("requires two-factor authentication for everyone")).to_be_visible()
    shoot(erin, "teams-06-needs-2fa")
    erin.get_by_role("link", name="Set up two-factor authentication").click()
    secret = erin.locator("#totp-secret").inner_text().strip()
    erin.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    erin.get_by_role("button", name="Turn on two-factor authentication").click()
    erin.get_by_role("link", name="I saved my codes — continue").click()
    erin.get_by_role("button", name="Join Acme Monitoring").click()
    expect(erin.get_by_text("Welcome to Acme Monitoring.")).to_be_visible()
    expect(erin.locator(".account-name")).to_contain_text("Acme Monitoring · Admin")
    shoot(erin, "teams-07-joined")
    erin_user = User.objects.get(email=ERIN)
    assert Membership.objects.get(user=erin_user, account=account_a).role == Role.ADMIN
    assert Invitation.objects.get(email=ERIN).accepted_by == erin_user

    # Erin connects an integration to the account.
    app, _ = register_app(account_a, user=alice)
    token, _ = issue_tokens(app, erin_user, account_a, ["monitors:read", "teams:admin"])
    assert v2(live_server, token).status_code == 200

    # 4. Alice demotes her: the grant ends, the token is refused on the next request.
    owner.goto("/settings/team/")
    erin_row = owner.locator("table tbody tr", has_text=ERIN)
    erin_row.get_by_role("link", name="Change role").click()
    owner.get_by_label("New role").select_option("member")
    fill_sudo(owner, alice)
    screenshot("teams-08-change-role")
    owner.get_by_role("button", name="Change role").click()
    expect(owner.get_by_text(f"{ERIN} is now member.")).to_be_visible()
    assert v2(live_server, token).status_code == 401
    erin.goto("/settings/api-access/")
    expect(erin.get_by_role("heading", name="Page not found")).to_be_visible()

    # 5. Erin authorizes again as a member; Alice removes her; the new token dies at once too.
    token, _ = issue_tokens(app, erin_user, account_a, ["monitors:read"])
    assert v2(live_server, token).status_code == 200
    owner.goto("/settings/team/")
    owner.locator("table tbody tr", has_text=ERIN).get_by_role("link", name="Remove").click()
    screenshot("teams-09-remove")
    owner.get_by_role("button", name="Remove from account").click()
    expect(owner.get_by_text(f"{ERIN} was removed from Acme Monitoring.")).to_be_visible()
    expect(owner.locator("table tbody tr", has_text=ERIN)).to_have_count(0)
    screenshot("teams-10-removed")
    assert v2(live_server, token).status_code == 401
    erin.goto("/settings/team/")
    expect(erin.locator(".account-name")).to_have_count(0)  # no account left in her session
    shoot(erin, "teams-11-removed-member-view")
    erin_context.close()


def test_password_reset_end_to_end(page, screenshot, alice):
    page.goto("/login/")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill("alice@acme.test")
    screenshot("reset-01-request")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    screenshot("reset-02-sent")

    page.goto(_link(r"/password-reset/\S+/\S+/", "alice@acme.test"))
    assert page.url.endswith("/password-reset/new/")
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    new_password = "lagoon-harbor-sextant-21"
    page.locator("#id_new_password1").fill(new_password)
    page.locator("#id_new_password2").fill(new_password)
    screenshot("reset-03-new-password")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Your password was changed")).to_be_visible()

    # The new password works, and the second factor is still asked.
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(new_password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.get_by_label("Authentication code").fill(unused_totp_code(alice))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".user-email")).to_have_text("alice@acme.test")
    screenshot("reset-04-logged-in")
    alice.refresh_from_db()
    assert alice.check_password(new_password) and not alice.check_password(PASSWORD)


def test_header_switcher_and_billing(
    logged_in_page, screenshot, alice, account_a, account_b, charlie
):
    Membership.objects.create(user=alice, account=account_b, role=Role.MEMBER)
    page = logged_in_page(alice)
    page.goto("/settings/billing/")
    expect(page.get_by_role("heading", name="Team plan")).to_be_visible()
    expect(page.get_by_text("0 of 4 in use")).to_be_visible()
    page.get_by_label("Billing email").fill("invoices@acme.test")
    page.get_by_role("button", name="Save billing email").click()
    expect(page.get_by_text("The billing email was updated.")).to_be_visible()
    screenshot("teams-12-billing")
    account_a.refresh_from_db()
    assert account_a.billing_email == "invoices@acme.test"

    page.locator(".account-switcher summary").click()
    screenshot("teams-13-header-switcher-open")
    page.locator(".account-menu").get_by_role("button", name=re.compile("Bravo Labs")).click()
    expect(page.get_by_text("You are now working in Bravo Labs.")).to_be_visible()
    expect(page.locator(".account-name")).to_contain_text("Bravo Labs · Member")
    # A member of Bravo has no Billing screen: the switch lands on home instead of a 404.
    expect(page.get_by_role("heading", name="Monitors", exact=True)).to_be_visible()
