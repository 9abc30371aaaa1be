"""The operators' admin: usable, and never showing a TOTP seed or a recovery-code digest."""

import pytest
from django.urls import reverse

from statuspool.accounts import recovery
from statuspool.accounts.models import Account, RecoveryCode, TOTPDevice, User
from tests.accounts.conftest import events
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    # Operators have 2FA: the admin opens for no one without it.
    user = make_user("ops@statuspool.test")
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def test_pages_never_show_secrets(operator, alice, account_a):
    recovery.replace_all(alice)
    device = TOTPDevice.objects.get(user=alice)
    seed = device.secret
    digests = list(RecoveryCode.objects.filter(user=alice).values_list("digest", flat=True))
    pages = [
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[alice.pk]),
        reverse("admin:accounts_account_changelist"),
        reverse("admin:accounts_account_change", args=[account_a.pk]),
        reverse("admin:accounts_membership_changelist"),
        reverse("admin:accounts_totpdevice_changelist"),
        reverse("admin:accounts_totpdevice_change", args=[alice.pk]),
    ]
    for url in pages:
        response = operator.get(url)
        assert response.status_code == 200, url
        assert seed.encode() not in response.content, url
        assert all(d.encode() not in response.content for d in digests), url
    assert b"alice@acme.test" in operator.get(pages[5]).content


def test_accounts_are_not_added_through_the_admin(operator):
    assert operator.get(reverse("admin:accounts_account_add")).status_code == 403


def test_totp_devices_cannot_be_added_edited_or_deleted(operator, alice):
    assert operator.get(reverse("admin:accounts_totpdevice_add")).status_code == 403
    assert (
        operator.get(reverse("admin:accounts_totpdevice_delete", args=[alice.pk])).status_code
        == 403
    )
    response = operator.post(
        reverse("admin:accounts_totpdevice_change", args=[alice.pk]), {"confirmed_at": ""}
    )
    assert response.status_code == 403
    assert TOTPDevice.objects.get(user=alice).confirmed_at is not None


def test_reset_two_factor_action_is_audited(operator, alice):
    recovery.replace_all(alice)
    response = operator.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [alice.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()
    [event] = events("auth.2fa_disabled")
    assert event.actor_email == "ops@statuspool.test"


def test_user_can_be_created_by_email(operator):
    response = operator.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "staff@statuspool.test",
            "usable_password": "true",
            "password1": "a long operator passphrase",
            "password2": "a long operator passphrase",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(email="staff@statuspool.test").check_password(
        "a long operator passphrase"
    )


def test_non_staff_cannot_open_the_admin(client):
    client.force_login(make_user("plain@example.test"))
    response = client.get(reverse("admin:accounts_account_changelist"))
    assert response.status_code == 302
    assert Account.objects.count() == 0
