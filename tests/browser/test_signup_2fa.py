"""A person signs up, enrolls 2FA from the page, logs out, and logs back in with a TOTP code."""

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import expect

from apikeys.models import ApiKey
from statuspool import api_key_format
from statuspool.accounts.models import Account, TOTPDevice, User
from statuspool.notifications.models import OutboxEmail
from tests.browser.helpers import unused_totp_code

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "grace@example.test"
PASSWORD = "orbit-copper-lantern-93"


def test_signup_enroll_logout_login_with_totp(page, screenshot):
    page.goto("/signup/")
    expect(page.get_by_role("heading", name="Create your StatusPool account")).to_be_visible()
    page.get_by_label("Work email").fill(EMAIL)
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Account name").fill("Hopper Reliability")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot("signup-01-form")
    page.get_by_role("button", name="Create account").click()

    # Same page whether or not the address has an account; the link comes by email.
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    screenshot("signup-01b-check-inbox")
    email = OutboxEmail.objects.get(template="signup_confirm", context__email=EMAIL)
    page.goto(urlsplit(email.context["confirm_url"]).path)
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(page.get_by_text("Hopper Reliability")).to_be_visible()
    screenshot("signup-01c-confirm")
    page.get_by_role("button", name="Create my account").click()

    # The default key, shown once, with the warning and a copy button.
    expect(page.get_by_role("heading", name="Welcome to StatusPool")).to_be_visible()
    key = page.locator("#api-key").inner_text().strip()
    assert api_key_format.is_well_formed(key)
    expect(page.get_by_text("Never embed keys in client-side JavaScript")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    screenshot("signup-02-default-key")
    account = Account.objects.get(name="Hopper Reliability")
    assert account.plan == "team" and account.owner.email == EMAIL
    assert ApiKey.objects.get(account=account).matches(key)

    # Two-factor enrollment: read the secret from the page, as a person typing it would.
    page.get_by_role("link", name="Continue to two-factor setup").click()
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    screenshot("signup-03-enroll-2fa")
    first_code = pyotp.TOTP(secret).now()
    page.get_by_label("Code from your app").fill(first_code)
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[0-9a-f]{5}-[0-9a-f]{5}", c) for c in codes)
    screenshot("signup-04-recovery-codes")
    assert TOTPDevice.objects.get(user__email=EMAIL).confirmed_at is not None

    page.get_by_role("link", name="I saved my codes — continue").click()
    expect(page.get_by_role("heading", name="Monitors", exact=True)).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to StatusPool")).to_be_visible()
    screenshot("signup-05-logged-out")

    # Back in: password, then a fresh code from the authenticator.
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    screenshot("signup-06-login-code")
    # The code used at enrollment is spent: the server refuses it, as it would an eavesdropper.
    page.get_by_label("Authentication code").fill(first_code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code has already been used")).to_be_visible()
    screenshot("signup-07-code-reused")
    # The next code is accepted at once: the server allows one step of clock drift either way.
    page.get_by_label("Authentication code").fill(unused_totp_code(User.objects.get(email=EMAIL)))
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_role("heading", name="Monitors", exact=True)).to_be_visible()
    expect(page.locator(".user-email")).to_have_text(EMAIL)
    screenshot("signup-08-monitors")
    assert User.objects.get(email=EMAIL).last_login is not None

    # Settings → Security shows 2FA on with every recovery code still unused; Team lists Grace.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Security").click()
    expect(page.get_by_text("10 of 10 unused")).to_be_visible()
    screenshot("signup-09-security")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Team").click()
    expect(page.get_by_role("cell", name=EMAIL)).to_be_visible()
    screenshot("signup-10-team")
