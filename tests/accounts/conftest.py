"""Helpers for the accounts tests: TOTP codes of a given step, audit lookups, a steady clock."""

import time

import pyotp
import pytest
import time_machine

from audit.models import AuditEvent
from statuspool.accounts.models import TOTPDevice


@pytest.fixture(autouse=True)
def steady_clock():
    """Start each test 1 s into a fresh 30-second TOTP step, so codes computed by the test
    cannot drift into another step before the server checks them."""
    start = (int(time.time() // 30) + 1) * 30 + 1
    with time_machine.travel(start, tick=True):
        yield


def code_at_step(user, offset: int = 0) -> str:
    """The user's code for the current step + offset (±1 is still accepted by the server)."""
    device = TOTPDevice.objects.get(user=user)
    return pyotp.TOTP(device.secret).at(time.time() + offset * 30)


def events(action, **filters):
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))
