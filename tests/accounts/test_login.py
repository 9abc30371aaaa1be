"""Login: password, then the second factor when enrolled; lockouts; audit."""

import time

import pytest
import time_machine
from django.urls import reverse

from statuspool.accounts import recovery, totp
from statuspool.accounts.login_flow import PENDING_KEY
from statuspool.accounts.models import Membership, RecoveryCode, Role, TOTPDevice
from tests.accounts.conftest import code_at_step, events
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def post_login(client, email, password=PASSWORD, ip="192.0.2.10", **data):
    return client.post(
        reverse("accounts:login"), {"email": email, "password": password, **data}, REMOTE_ADDR=ip
    )


def post_code(client, code, ip="192.0.2.10"):
    return client.post(reverse("accounts:login_verify"), {"code": code}, REMOTE_ADDR=ip)


def authenticated_id(client):
    return client.session.get("_auth_user_id")


def test_login_page_renders_for_anonymous(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b'name="email"' in response.content and b'name="password"' in response.content


def test_login_without_2fa(client, account_a):
    nina = make_user("nina@acme.test", with_2fa=False)
    Membership.objects.create(user=nina, account=account_a, role=Role.MEMBER)

    response = post_login(client, "Nina@Acme.test")

    assert response.status_code == 302
    assert response.url == reverse("monitoring:monitor_list")
    assert authenticated_id(client) == str(nina.pk)
    nina.refresh_from_db()
    assert nina.last_login is not None
    [event] = events("auth.login")
    assert event.account_id == account_a.pk
    assert event.actor_email == "nina@acme.test"
    assert event.details == {"method": "password"}
    assert event.ip == "192.0.2.10"


def test_login_with_2fa_asks_for_code_and_is_not_authenticated_in_between(client, alice):
    anonymous_session = client.session.session_key

    response = post_login(client, alice.email)

    assert response.url == reverse("accounts:login_verify")
    assert authenticated_id(client) is None
    assert client.session.session_key != anonymous_session  # new key for the half-signed-in state
    assert client.session[PENDING_KEY]["user_id"] == alice.pk
    # The half-signed-in session opens nothing.
    protected = client.get(reverse("accounts:security"))
    assert protected.status_code == 302 and protected.url.startswith(reverse("accounts:login"))
    assert events("auth.login") == []

    page = client.get(reverse("accounts:login_verify"))
    assert page.status_code == 200 and alice.email.encode() in page.content

    response = post_code(client, code_at_step(alice))

    assert response.url == reverse("monitoring:monitor_list")
    assert authenticated_id(client) == str(alice.pk)
    assert PENDING_KEY not in client.session
    device = TOTPDevice.objects.get(user=alice)
    assert device.last_used_step == totp.current_step()
    [event] = events("auth.login")
    assert (
        event.details == {"method": "totp"}
        and event.account_id == alice.memberships.get().account_id
    )


def test_next_survives_both_steps(client, alice):
    post_login(client, alice.email, next=reverse("accounts:team"))
    response = post_code(client, code_at_step(alice))
    assert response.url == reverse("accounts:team")


def test_next_to_another_site_is_ignored(client, alice):
    post_login(client, alice.email, next="https://evil.example/steal")
    response = post_code(client, code_at_step(alice))
    assert response.url == reverse("monitoring:monitor_list")


def test_replayed_totp_code_is_refused(client, alice):
    code = code_at_step(alice)
    post_login(client, alice.email)
    assert post_code(client, code).status_code == 302
    client.post(reverse("accounts:logout"))
    assert authenticated_id(client) is None

    post_login(client, alice.email)
    response = post_code(client, code)

    assert response.status_code == 200
    assert b"already been used" in response.content
    assert authenticated_id(client) is None
    [failure] = events("auth.login_failed")
    assert failure.details == {"reason": "totp_replayed"}


def test_code_of_an_earlier_step_than_the_last_used_is_refused(client, alice):
    post_login(client, alice.email)
    assert post_code(client, code_at_step(alice, offset=1)).status_code == 302
    client.post(reverse("accounts:logout"))

    post_login(client, alice.email)
    response = post_code(client, code_at_step(alice, offset=0))

    assert authenticated_id(client) is None
    assert b"already been used" in response.content


def test_wrong_code_is_refused_and_audited(client, alice):
    post_login(client, alice.email)
    wrong = f"{(int(code_at_step(alice)) + 1) % 1_000_000:06d}"

    response = post_code(client, wrong)

    assert response.status_code == 200 and b"not valid" in response.content
    assert authenticated_id(client) is None
    [failure] = events("auth.login_failed")
    assert failure.details == {"reason": "totp_invalid"}
    assert failure.actor_email == alice.email


def test_recovery_code_works_once(client, alice):
    codes = recovery.replace_all(alice)
    post_login(client, alice.email)

    response = post_code(client, f"  {codes[3].upper().replace('-', ' ')} ")

    assert response.status_code == 302
    assert authenticated_id(client) == str(alice.pk)
    assert RecoveryCode.objects.filter(user=alice, used_at__isnull=False).count() == 1
    [event] = events("auth.login")
    assert event.details == {"method": "recovery_code", "recovery_codes_left": 9}

    client.post(reverse("accounts:logout"))
    post_login(client, alice.email)
    response = post_code(client, codes[3])

    assert authenticated_id(client) is None
    assert b"not valid" in response.content
    assert events("auth.login_failed")[-1].details == {"reason": "wrong_recovery_code"}


def test_pending_sign_in_expires_after_five_minutes(client, alice):
    post_login(client, alice.email)
    with time_machine.travel(time.time() + 301, tick=False):
        response = client.get(reverse("accounts:login_verify"))
        assert response.url == reverse("accounts:login")
        assert PENDING_KEY not in client.session
        response = post_code(client, code_at_step(alice))
    assert authenticated_id(client) is None


def test_verify_without_password_step_goes_to_login(client, alice):
    response = post_code(client, code_at_step(alice))
    assert response.status_code == 302 and response.url == reverse("accounts:login")
    assert authenticated_id(client) is None


def test_wrong_password(client, alice):
    response = post_login(client, alice.email, password="not the password")
    assert response.status_code == 200
    assert b"email or password is not correct" in response.content
    assert authenticated_id(client) is None and PENDING_KEY not in client.session
    [failure] = events("auth.login_failed")
    assert failure.details == {"reason": "wrong_password"}
    assert failure.account_id == alice.memberships.get().account_id


def test_failure_for_a_known_email_is_recorded_in_each_of_their_accounts(
    client, alice, account_a, account_b
):
    Membership.objects.create(user=alice, account=account_b, role=Role.MEMBER)
    post_login(client, alice.email, password="nope nope nope")
    failures = events("auth.login_failed")
    assert sorted(e.account_id for e in failures) == sorted([account_a.pk, account_b.pk])


def test_failure_for_an_unknown_email_has_no_account(client, alice):
    response = post_login(client, "nobody@nowhere.test")
    assert b"email or password is not correct" in response.content
    [failure] = events("auth.login_failed")
    assert failure.account_id is None
    assert failure.details == {"email": "nobody@nowhere.test", "reason": "unknown_email"}
    assert PASSWORD not in str(failure.details)


def test_inactive_user_cannot_log_in(client, alice):
    alice.is_active = False
    alice.save()
    post_login(client, alice.email)
    assert authenticated_id(client) is None and PENDING_KEY not in client.session
    assert events("auth.login_failed")[0].details == {"reason": "inactive"}


def test_lockout_per_email_refuses_even_the_right_password(client, alice, settings):
    assert settings.LOGIN_RATE_PER_EMAIL == "5/15m"
    for attempt in range(5):  # from five different addresses: the per-IP counter stays low
        post_login(client, alice.email, password="guess", ip=f"203.0.113.{attempt + 1}")

    response = post_login(client, alice.email, ip="203.0.113.99")

    assert response.status_code == 200
    assert b"Too many failed sign-in attempts for this email address" in response.content
    assert b"try again in" in response.content
    assert PENDING_KEY not in client.session and authenticated_id(client) is None
    reasons = [e.details["reason"] for e in events("auth.login_failed")]
    assert reasons == ["wrong_password"] * 5 + ["locked_out_email"]

    # Someone else signing in from the same address is not affected.
    bob = make_user("bob2@acme.test", with_2fa=False)
    Membership.objects.create(user=bob, account=alice.memberships.get().account)
    assert post_login(client, bob.email, ip="203.0.113.99").status_code == 302
    assert authenticated_id(client) == str(bob.pk)


def test_lockout_ends_with_its_window(client, alice):
    for _ in range(5):
        post_login(client, alice.email, password="guess")
    assert b"Too many" in post_login(client, alice.email).content
    with time_machine.travel(time.time() + 16 * 60, tick=True):
        assert post_login(client, alice.email).url == reverse("accounts:login_verify")


def test_lockout_per_ip(client, alice, settings):
    settings.LOGIN_RATE_PER_IP = "3/10m"
    for n in range(3):
        post_login(client, f"nobody{n}@nowhere.test", ip="198.51.100.7")

    response = post_login(client, alice.email, ip="198.51.100.7")

    assert b"Too many failed sign-in attempts from your network" in response.content
    assert PENDING_KEY not in client.session
    assert events("auth.login_failed")[-1].details == {"reason": "locked_out_ip"}
    # Another address is not locked out.
    assert post_login(client, alice.email, ip="198.51.100.8").url == reverse(
        "accounts:login_verify"
    )


def test_second_factor_failures_count_toward_the_lockout(client, alice):
    post_login(client, alice.email)
    for _ in range(5):
        post_code(client, "000000" if code_at_step(alice) != "000000" else "111111")

    response = post_code(client, code_at_step(alice))

    assert b"Too many failed sign-in attempts" in response.content
    assert authenticated_id(client) is None
    assert TOTPDevice.objects.get(user=alice).last_used_step == 0  # the right code was not spent


def test_logout_needs_post(client, alice):
    client.force_login(alice)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert authenticated_id(client) == str(alice.pk)
    response = client.post(reverse("accounts:logout"))
    assert response.url == reverse("accounts:login")
    assert authenticated_id(client) is None


def test_logged_in_user_visiting_login_is_sent_on(client, alice):
    client.force_login(alice)
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 302 and response.url == reverse("monitoring:monitor_list")


def test_login_pages_are_not_cached(client, alice):
    response = client.get(reverse("accounts:login"))
    assert "no-store" in response["Cache-Control"]
