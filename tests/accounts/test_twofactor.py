"""Settings → Security: enrollment (QR + secret), recovery codes, disabling, password change."""

import re

import pyotp
import pytest
from django.db import connection
from django.urls import reverse

from statuspool.accounts import recovery, totp
from statuspool.accounts.models import RecoveryCode, TOTPDevice
from statuspool.crypto import digest_matches
from tests.accounts.conftest import code_at_step, events
from tests.conftest import PASSWORD, login, make_user

pytestmark = pytest.mark.django_db

SECURITY_URLS = [
    "accounts:security",
    "accounts:twofactor_enroll",
    "accounts:twofactor_disable",
    "accounts:recovery_codes",
    "accounts:password_change",
]


@pytest.fixture
def newbie(account_a):
    from statuspool.accounts.models import Membership, Role

    user = make_user("newbie@acme.test", with_2fa=False)
    Membership.objects.create(user=user, account=account_a, role=Role.ADMIN)
    return user


def secret_on(response) -> str:
    match = re.search(rb'<code id="totp-secret">([A-Z2-7]+)</code>', response.content)
    assert match, "the secret is shown as text"
    return match.group(1).decode()


@pytest.mark.parametrize("name", SECURITY_URLS)
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login") + "?next=")


@pytest.mark.parametrize("name", SECURITY_URLS)
def test_every_member_reaches_their_security_pages(client, mallory, name):
    response = login(client, mallory).get(reverse(name))
    # Enrollment is for people without 2FA: Mallory has it, so she is sent back to Security.
    expected = 302 if name == "accounts:twofactor_enroll" else 200
    assert response.status_code == expected


def test_security_page_shows_status(client, alice, newbie):
    recovery.replace_all(alice)
    page = login(client, alice).get(reverse("accounts:security"))
    assert b"10 of 10 unused" in page.content and b"Turn off" in page.content
    page = login(client, newbie).get(reverse("accounts:security"))
    assert b"Set up two-factor authentication" in page.content
    assert b"As a team admin you need two-factor authentication" in page.content


def test_enrollment_shows_qr_and_secret_and_keeps_it_across_reloads(client, newbie):
    login(client, newbie)
    first = client.get(reverse("accounts:twofactor_enroll"))
    second = client.get(reverse("accounts:twofactor_enroll"))

    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    assert b"<svg" in first.content and b'aria-label="QR code"' in first.content
    secret = secret_on(first)
    assert secret_on(second) == secret
    # The same seed as a link for phones that cannot scan their own screen.
    assert 'href="otpauth://totp/' in first.content.decode()
    assert f"secret={secret}" in first.content.decode()
    device = TOTPDevice.objects.get(user=newbie)
    assert device.secret == secret and device.confirmed_at is None
    # Stored encrypted, never as the plain seed.
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_totpdevice WHERE user_id = %s", [newbie.pk])
        (stored,) = cursor.fetchone()
    assert secret not in stored and stored.startswith("v1$")
    newbie.refresh_from_db()
    assert not newbie.has_2fa


def test_enrollment_refuses_a_wrong_code(client, newbie):
    login(client, newbie)
    secret = secret_on(client.get(reverse("accounts:twofactor_enroll")))
    good = pyotp.TOTP(secret).now()
    response = client.post(
        reverse("accounts:twofactor_enroll"), {"code": "000000" if good != "000000" else "111111"}
    )
    assert response.status_code == 200 and b"not valid" in response.content
    assert TOTPDevice.objects.get(user=newbie).confirmed_at is None
    assert not RecoveryCode.objects.filter(user=newbie).exists()
    assert events("auth.2fa_enrolled") == []


def test_enrollment_confirms_and_shows_ten_recovery_codes_once(client, newbie):
    login(client, newbie)
    secret = secret_on(client.get(reverse("accounts:twofactor_enroll")))

    response = client.post(
        reverse("accounts:twofactor_enroll"),
        {"code": pyotp.TOTP(secret).now(), "next": reverse("accounts:team")},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    device = TOTPDevice.objects.get(user=newbie)
    assert device.confirmed_at is not None
    assert device.last_used_step == totp.current_step()  # the confirming code is spent
    stored = list(RecoveryCode.objects.filter(user=newbie))
    assert len(stored) == 10
    for code in codes:
        assert code.encode() in response.content
        assert any(digest_matches(code, row.pepper_id, row.digest) for row in stored)
        assert all(code not in row.digest for row in stored)
    assert f'href="{reverse("accounts:team")}"'.encode() in response.content
    [event] = events("auth.2fa_enrolled")
    assert event.actor_email == newbie.email and event.account_id is not None

    again = client.get(reverse("accounts:twofactor_enroll"))
    assert again.status_code == 302 and again.url == reverse("accounts:security")


def test_enrollment_next_to_another_site_is_ignored(client, newbie):
    login(client, newbie)
    secret = secret_on(client.get(reverse("accounts:twofactor_enroll")))
    response = client.post(
        reverse("accounts:twofactor_enroll"),
        {"code": pyotp.TOTP(secret).now(), "next": "https://evil.example/"},
    )
    assert b"evil.example" not in response.content


def test_disable_needs_sudo(client, alice):
    recovery.replace_all(alice)
    login(client, alice)
    response = client.post(
        reverse("accounts:twofactor_disable"),
        {"password": "wrong", "otp_code": code_at_step(alice)},
    )
    assert response.status_code == 200
    assert TOTPDevice.objects.filter(user=alice).exists()
    assert events("auth.sudo_failed")[0].details["purpose"] == "2fa.disable"
    assert events("auth.2fa_disabled") == []


def test_disable_with_sudo_removes_device_and_codes(client, alice):
    recovery.replace_all(alice)
    login(client, alice)
    response = client.post(
        reverse("accounts:twofactor_disable"),
        {"password": PASSWORD, "otp_code": code_at_step(alice)},
    )
    assert response.status_code == 302 and response.url == reverse("accounts:security")
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()
    alice.refresh_from_db()
    assert not alice.has_2fa
    [event] = events("auth.2fa_disabled")
    assert event.account_id == alice.memberships.get().account_id


def test_disable_accepts_a_recovery_code_for_a_lost_phone(client, alice):
    codes = recovery.replace_all(alice)
    login(client, alice)
    response = client.post(
        reverse("accounts:twofactor_disable"), {"password": PASSWORD, "otp_code": codes[5]}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=alice).exists()


def test_regenerate_and_disable_without_2fa_go_back_to_security(client, newbie):
    login(client, newbie)
    for name in ("accounts:recovery_codes", "accounts:twofactor_disable"):
        response = client.post(reverse(name), {"password": PASSWORD, "otp_code": "123456"})
        assert response.status_code == 302 and response.url == reverse("accounts:security")
    assert events("auth.recovery_codes_regenerated") == []


def test_password_change(client, alice):
    other_session = client.__class__()
    login(other_session, alice)
    login(client, alice)

    wrong = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": "x", "new_password2": "x"},
    )
    assert wrong.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a fresh and long passphrase",
            "new_password2": "a fresh and long passphrase",
        },
    )

    assert response.status_code == 302 and response.url == reverse("accounts:security")
    alice.refresh_from_db()
    assert alice.check_password("a fresh and long passphrase")
    assert client.get(reverse("accounts:security")).status_code == 200  # this session stays
    assert other_session.get(reverse("accounts:security")).status_code == 302  # others end
    [event] = events("auth.password_changed")
    assert event.actor_email == alice.email
    assert "passphrase" not in event.canonical_content().decode()


def test_password_change_refuses_a_weak_password(client, alice):
    login(client, alice)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert events("auth.password_changed") == []
