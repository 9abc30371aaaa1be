"""The operators' admin in Chromium: /admin/ goes through the dashboard's password → TOTP login,
and a staff user without two-factor authentication is kept on enrollment until it is on."""

import pyotp
import pytest
from playwright.sync_api import expect

from statuspool.accounts.models import TOTPDevice
from tests.browser.helpers import unused_totp_code
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def operator(email, *, with_2fa):
    user = make_user(email, with_2fa=with_2fa)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def password_step(page, email):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_admin_needs_password_then_totp(page, screenshot):
    ops = operator("ops@statuspool.test", with_2fa=True)
    page.goto("/admin/accounts/user/")
    expect(page.get_by_role("heading", name="Log in to StatusPool")).to_be_visible()
    screenshot("admin-01-dashboard-login")
    password_step(page, ops.email)
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.get_by_label("Authentication code").fill(unused_totp_code(ops))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("link", name="StatusPool operators")).to_be_visible()
    expect(page.get_by_role("heading", name="Select user to change")).to_be_visible()
    screenshot("admin-02-admin-after-totp")


def test_staff_without_2fa_must_enroll_first(page, screenshot):
    ops = operator("new-ops@statuspool.test", with_2fa=False)
    page.goto("/admin/")
    password_step(page, ops.email)
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_text("Operators need two-factor authentication")).to_be_visible()
    page.goto("/monitors/")  # the dashboard does not open either
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    screenshot("admin-03-staff-must-enroll")

    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    assert TOTPDevice.objects.get(user=ops).confirmed_at is not None
    page.goto("/admin/")
    expect(page.get_by_role("link", name="StatusPool operators")).to_be_visible()
    screenshot("admin-04-admin-after-enrollment")
