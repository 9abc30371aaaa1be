"""The daily cleanup keeps what reuse detection needs and drops what can never be used again."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from oauthapps.models import AccessToken, Grant, RefreshToken
from oauthapps.tasks import clear_expired_tokens
from tests.conftest import login
from tests.oauthapps.helpers import exchange_code, obtain_code, refresh

pytestmark = pytest.mark.django_db


def test_cleanup_drops_expired_codes_and_keeps_live_and_spent_tokens(
    client, alice, app, secret, account_a
):
    login(client, alice)
    code, verifier = obtain_code(client, app, account=account_a)
    first = exchange_code(client, app, secret, code, verifier).json()
    refresh(client, app, secret, first["refresh_token"])
    obtain_code(client, app, account=account_a)  # never redeemed
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        clear_expired_tokens.delay()
    assert not Grant.objects.exists()  # codes live 60 seconds
    assert AccessToken.objects.count() == 1
    assert RefreshToken.objects.count() == 2  # the spent one stays for reuse detection
    with time_machine.travel(timezone.now() + timedelta(days=32)):
        clear_expired_tokens.delay()
    assert not RefreshToken.objects.exists() and not AccessToken.objects.exists()


def test_cleanup_drops_device_authorizations_a_day_after_they_expired(client, cli_app):
    from oauthapps.models import DeviceGrant
    from tests.oauthapps.device_helpers import start

    start(client, cli_app)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        clear_expired_tokens.delay()
    assert DeviceGrant.objects.count() == 1  # expired, but kept for a day (expired_token answers)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        clear_expired_tokens.delay()
    assert not DeviceGrant.objects.exists()
