"""Helpers shared by the API key tests."""

from audit.models import AuditEvent
from statuspool.accounts.models import TOTPDevice
from tests.conftest import PASSWORD, totp_now


def events(action, **filters):
    return list(AuditEvent.objects.filter(action=action, **filters))


def sudo_data(user, **extra):
    """Form data with the password and a fresh authenticator code.

    Each code is accepted once; tests that confirm several actions within one 30-second step
    forget the last accepted step first, as if the next step had come.
    """
    TOTPDevice.objects.filter(user=user).update(last_used_step=0)
    return {"password": PASSWORD, "otp_code": totp_now(user), **extra}
