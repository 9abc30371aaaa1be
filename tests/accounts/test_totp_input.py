"""TOTP fields take ASCII digits; other scripts' digits are a wrong code, never a 500 (issue 11)."""

import pytest
from django.test import Client
from django.urls import reverse

from statuspool.accounts.models import TOTPDevice
from tests.conftest import PASSWORD, login

pytestmark = pytest.mark.django_db

ARABIC_INDIC = "١٢٣٤٥٦"
FULLWIDTH = "１２３４５６"


@pytest.mark.parametrize("code", [ARABIC_INDIC, FULLWIDTH, "12345\u0666"])
def test_login_second_step_refuses_non_ascii_digits(alice, code):
    before = TOTPDevice.objects.get(user=alice).last_used_step
    client = Client(raise_request_exception=False)
    client.post(reverse("accounts:login"), {"email": alice.email, "password": PASSWORD})
    response = client.post(reverse("accounts:login_verify"), {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert TOTPDevice.objects.get(user=alice).last_used_step == before


@pytest.mark.parametrize("code", [ARABIC_INDIC, FULLWIDTH])
def test_sudo_confirmation_refuses_non_ascii_digits(alice, code):
    before = TOTPDevice.objects.get(user=alice).last_used_step
    client = login(Client(raise_request_exception=False), alice)
    response = client.post(
        reverse("accounts:recovery_codes"), {"password": PASSWORD, "otp_code": code}
    )
    assert response.status_code in (200, 400, 403)
    assert TOTPDevice.objects.get(user=alice).last_used_step == before
