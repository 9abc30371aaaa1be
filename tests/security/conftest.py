"""Helpers of the security regression suite (tests/security/): one module per area of issue 10."""

import pytest

from audit.models import AuditEvent
from statuspool.accounts.models import User
from tests.conftest import PASSWORD, make_user


def events(action, **filters):
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def make_operator(email="ops@statuspool.test", *, with_2fa=True) -> User:
    user = make_user(email, with_2fa=with_2fa)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def password():
    return PASSWORD
