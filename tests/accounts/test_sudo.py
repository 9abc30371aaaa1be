"""Sudo confirmation: password AND a current, unused TOTP code; failures limited and audited."""

import time

import pytest
import time_machine
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.cache import SessionStore
from django.test import RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from statuspool.accounts import recovery, totp
from statuspool.accounts.models import RecoveryCode, TOTPDevice
from statuspool.accounts.sudo import SudoForm, sudo_confirm
from tests.accounts.conftest import code_at_step, events
from tests.conftest import PASSWORD, login, make_user

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "Tr0ub4dor&3-not-it"


def regenerate(client, password=PASSWORD, code=None):
    """Settings → Security → new recovery codes: a real screen that is behind sudo."""
    return client.post(
        reverse("accounts:recovery_codes"), {"password": password, "otp_code": code or ""}
    )


def digests(user):
    return set(RecoveryCode.objects.filter(user=user).values_list("digest", flat=True))


@pytest.fixture
def alice_with_codes(alice):
    recovery.replace_all(alice)
    return alice


def test_sudo_form_fields():
    form = SudoForm()
    assert list(form.fields) == ["password", "otp_code"]
    assert form.fields["otp_code"].label == "Authenticator code"


def test_success_with_password_and_current_code(client, alice_with_codes):
    login(client, alice_with_codes)
    before = digests(alice_with_codes)

    response = regenerate(client, code=code_at_step(alice_with_codes))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert len(response.context["codes"]) == 10
    assert digests(alice_with_codes).isdisjoint(before)
    assert TOTPDevice.objects.get(user=alice_with_codes).last_used_step == totp.current_step()
    assert len(events("auth.recovery_codes_regenerated")) == 1
    assert events("auth.sudo_failed") == []


def test_wrong_password_is_refused_and_audited(client, alice_with_codes):
    login(client, alice_with_codes)
    before = digests(alice_with_codes)

    response = regenerate(client, password=WRONG_PASSWORD, code=code_at_step(alice_with_codes))

    assert response.status_code == 200
    assert b"That password is not correct" in response.content
    assert digests(alice_with_codes) == before
    # The code was not spent by a submission with the wrong password.
    assert TOTPDevice.objects.get(user=alice_with_codes).last_used_step == 0
    [failure] = events("auth.sudo_failed")
    assert failure.details == {"reason": "wrong_password", "purpose": "recovery_codes.regenerate"}
    assert failure.account_id == alice_with_codes.memberships.get().account_id
    assert failure.actor_email == alice_with_codes.email
    assert WRONG_PASSWORD not in failure.canonical_content().decode()


def test_right_password_without_code_is_refused(client, alice_with_codes):
    login(client, alice_with_codes)
    before = digests(alice_with_codes)
    response = regenerate(client, code="")
    assert b"This field is required" in response.content
    assert digests(alice_with_codes) == before


def test_wrong_code_is_refused_and_audited(client, alice_with_codes):
    login(client, alice_with_codes)
    good = code_at_step(alice_with_codes)
    wrong = "123456" if good != "123456" else "654321"

    response = regenerate(client, code=wrong)

    assert b"That code is not valid" in response.content
    [failure] = events("auth.sudo_failed")
    assert failure.details["reason"] == "code_invalid"
    assert wrong not in failure.canonical_content().decode()


def test_a_code_already_used_is_refused(client, alice_with_codes):
    login(client, alice_with_codes)
    code = code_at_step(alice_with_codes)
    assert regenerate(client, code=code).status_code == 200
    after_first = digests(alice_with_codes)

    response = regenerate(client, code=code)

    assert b"already been used" in response.content
    assert digests(alice_with_codes) == after_first
    assert events("auth.sudo_failed")[0].details["reason"] == "code_replayed"


def test_recovery_code_is_not_a_sudo_code_here(client, alice):
    codes = recovery.replace_all(alice)
    login(client, alice)
    response = regenerate(client, code=codes[0])
    assert b"That code is not valid" in response.content
    assert RecoveryCode.objects.filter(user=alice, used_at__isnull=False).count() == 0


def test_sixth_attempt_is_refused_even_with_the_right_credentials(
    client, alice_with_codes, settings
):
    assert (settings.SUDO_FAILURE_LIMIT, settings.SUDO_FAILURE_WINDOW) == (5, 15 * 60)
    login(client, alice_with_codes)
    before = digests(alice_with_codes)
    for _ in range(5):
        regenerate(client, password=WRONG_PASSWORD, code=code_at_step(alice_with_codes))

    response = regenerate(client, code=code_at_step(alice_with_codes))

    assert b"Too many failed confirmations" in response.content
    assert b"try again in" in response.content
    assert digests(alice_with_codes) == before
    assert TOTPDevice.objects.get(user=alice_with_codes).last_used_step == 0
    reasons = [e.details["reason"] for e in events("auth.sudo_failed")]
    assert reasons == ["wrong_password"] * 5 + ["locked"]

    # Once the window is over, the right credentials work again.
    with time_machine.travel(time.time() + 16 * 60, tick=True):
        assert len(regenerate(client, code=code_at_step(alice_with_codes)).context["codes"]) == 10


def test_the_limit_is_per_user(client, alice_with_codes, bob):
    recovery.replace_all(bob)
    login(client, alice_with_codes)
    for _ in range(5):
        regenerate(client, password=WRONG_PASSWORD, code="000000")
    login(client, bob)
    response = regenerate(client, code=code_at_step(bob))
    assert response.status_code == 200 and len(response.context["codes"]) == 10


def _request(user, account, data):
    request = RequestFactory().post("/anything/", data, REMOTE_ADDR="192.0.2.5")
    request.user = user
    request.account = account
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_sudo_confirm_directly(alice, account_a):
    form = SudoForm({"password": PASSWORD, "otp_code": code_at_step(alice)})
    assert sudo_confirm(_request(alice, account_a, {}), form, purpose="apikey.create") is True
    assert events("auth.sudo_failed") == []


def test_sudo_confirm_failure_records_purpose_and_ip(alice, account_a):
    form = SudoForm({"password": "wrong", "otp_code": code_at_step(alice)})
    assert sudo_confirm(_request(alice, account_a, {}), form, purpose="oauth.secret_reset") is False
    assert form.errors["password"]
    [failure] = AuditEvent.objects.filter(action="auth.sudo_failed")
    assert failure.details == {"reason": "wrong_password", "purpose": "oauth.secret_reset"}
    assert failure.ip == "192.0.2.5"


def test_user_without_2fa_cannot_pass_sudo(account_a):
    nobody = make_user("no2fa@acme.test", with_2fa=False)
    form = SudoForm({"password": PASSWORD, "otp_code": "123456"})
    assert sudo_confirm(_request(nobody, account_a, {}), form) is False
    assert "Set up two-factor authentication" in form.errors["otp_code"][0]
    assert events("auth.sudo_failed")[0].details["reason"] == "no_2fa"
