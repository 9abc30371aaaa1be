"""Settings → Security in Chromium: change the password and log in with the new one; generate new
recovery codes (sudo); turn two-factor authentication off with a recovery code, be sent to
enrollment by the credential screens, and be brought back after setting it up again."""

import pyotp
import pytest
from django.test import Client
from playwright.sync_api import expect

from audit.models import AuditEvent
from statuspool.accounts import recovery
from statuspool.accounts.decorators import TWO_FACTOR_NEEDED
from statuspool.accounts.models import RecoveryCode, TOTPDevice
from tests.browser.helpers import fill_sudo, unused_totp_code
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "granite-puffin-orchard-41"


def log_in_with_password(page, email, password):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_change_password_then_log_in_with_it(logged_in_page, screenshot, alice):
    elsewhere = Client()  # another of Alice's sessions, e.g. her laptop at home
    elsewhere.force_login(alice)
    page = logged_in_page(alice)
    page.goto("/settings/security/")
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    screenshot("security-01-overview")

    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Old password").fill("not my password")
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your old password was entered incorrectly")).to_be_visible()
    screenshot("security-02-password-wrong-old")
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)

    page.get_by_label("Old password").fill(PASSWORD)
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    screenshot("security-03-password-form")
    page.get_by_role("button", name="Change password").click()
    expect(
        page.get_by_text("Your password was changed. Other sessions were signed out.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    screenshot("security-04-password-changed")
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) and not alice.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="auth.password_changed", actor=alice).exists()
    assert elsewhere.get("/settings/security/").status_code == 302  # signed out there

    # Log out; the old password is refused, the new one and a code from the app let her in.
    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, alice.email, PASSWORD)
    expect(page.get_by_text("The email or password is not correct.")).to_be_visible()
    log_in_with_password(page, alice.email, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.get_by_label("Authentication code").fill(unused_totp_code(alice))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Monitors", exact=True)).to_be_visible()
    expect(page.locator(".user-email")).to_have_text(alice.email)
    screenshot("security-05-logged-in-with-new-password")


def test_new_recovery_codes_then_turn_2fa_off_and_on_again(logged_in_page, screenshot, bob):
    old_codes = recovery.replace_all(bob)
    page = logged_in_page(bob)
    page.goto("/settings/security/")
    expect(page.get_by_text("10 of 10 unused")).to_be_visible()

    # 1. New recovery codes: a wrong password is refused, then password + code replace them all.
    page.get_by_role("link", name="Generate new recovery codes").click()
    expect(page.get_by_text("You have 10 unused recovery codes.")).to_be_visible()
    fill_sudo(page, bob, password="not my password")
    page.get_by_role("button", name="Generate new codes").click()
    expect(page.get_by_text("That password is not correct.")).to_be_visible()
    screenshot("security-06-recovery-codes-wrong-password")
    fill_sudo(page, bob)
    page.get_by_role("button", name="Generate new codes").click()
    expect(page.get_by_role("heading", name="New recovery codes")).to_be_visible()
    expect(page.get_by_text("Your previous codes no longer work.")).to_be_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and not set(codes) & set(old_codes)
    screenshot("security-07-new-recovery-codes")
    assert not recovery.consume(bob, old_codes[0])
    assert RecoveryCode.objects.filter(user=bob, used_at__isnull=True).count() == 10
    assert AuditEvent.objects.filter(action="auth.recovery_codes_regenerated", actor=bob).exists()
    page.get_by_role("link", name="I saved my codes — continue").click()
    expect(page.get_by_text("10 of 10 unused")).to_be_visible()

    # 2. Lost phone: turn 2FA off with the password and one of the new recovery codes.
    page.get_by_role("link", name="Turn off two-factor authentication").click()
    expect(page.get_by_text("You are a team admin")).to_be_visible()
    fill_sudo(page, bob, code=codes[0])
    screenshot("security-08-disable-2fa-form")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Turn off two-factor authentication").click()
    expect(page.get_by_text("Two-factor authentication is off")).to_be_visible()
    expect(page.get_by_text("As a team admin you need two-factor authentication")).to_be_visible()
    screenshot("security-09-2fa-off")
    assert not TOTPDevice.objects.filter(user=bob).exists()
    assert not RecoveryCode.objects.filter(user=bob).exists()
    assert AuditEvent.objects.filter(action="auth.2fa_disabled", actor=bob).exists()

    # 3. The credential screens now send him to enrollment, and back once it is on again.
    for path in ("/settings/oauth-applications/", "/settings/audit-log/", "/settings/api-access/"):
        page.goto(path)
        expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
        expect(page.get_by_text(TWO_FACTOR_NEEDED)).to_be_visible()
    screenshot("security-10-credential-screen-needs-2fa")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    page.get_by_role("link", name="I saved my codes — continue").click()
    expect(page.get_by_role("heading", name="API Access")).to_be_visible()
    assert TOTPDevice.objects.get(user=bob).confirmed_at is not None
