"""Settings → Team: the members of the current account, and the account switcher."""

import pytest
from django.urls import reverse

from statuspool.accounts.middleware import SESSION_KEY
from statuspool.accounts.models import Membership, Role
from tests.conftest import login, make_user

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("accounts:team"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    assert client.post(reverse("accounts:switch_account"), {"account": 1}).status_code == 302


def test_every_member_sees_the_team_with_roles(client, alice, bob, mallory):
    response = login(client, mallory).get(reverse("accounts:team"))
    assert response.status_code == 200
    members = [(m.user.email, m.role) for m in response.context["members"]]
    assert members == [
        ("alice@acme.test", "owner"),
        ("bob@acme.test", "admin"),
        ("mallory@acme.test", "member"),
    ]
    assert b"Owner" in response.content and b"Admin" in response.content
    assert response.context["show_2fa"] is False  # members do not see others' 2FA status
    assert b"Two-factor" not in response.content
    assert response.context["switch_form"] is None  # one account: nothing to switch


def test_team_admins_see_who_has_2fa(client, alice, account_a):
    Membership.objects.create(
        user=make_user("no2fa@acme.test", with_2fa=False), account=account_a, role=Role.MEMBER
    )
    response = login(client, alice).get(reverse("accounts:team"))
    assert b"Two-factor" in response.content
    assert response.content.count(b"badge-stale") == 1


def test_another_accounts_owner_never_sees_its_members(client, alice, charlie):
    response = login(client, charlie).get(reverse("accounts:team"))
    assert response.status_code == 200
    assert b"alice@acme.test" not in response.content
    assert [m.user for m in response.context["members"]] == [charlie]


def test_user_without_account_gets_404(client):
    login(client, make_user("loner@example.test"))
    assert client.get(reverse("accounts:team")).status_code == 404


def test_switching_accounts(client, alice, account_a, account_b, charlie):
    Membership.objects.create(user=alice, account=account_b, role=Role.MEMBER)
    login(client, alice)
    page = client.get(reverse("accounts:team"))
    assert page.context["account"] == account_a
    assert page.context["switch_form"] is not None

    response = client.post(
        reverse("accounts:switch_account"),
        {"account": account_b.pk, "next": reverse("accounts:team")},
    )

    assert response.status_code == 302 and response.url == reverse("accounts:team")
    assert client.session[SESSION_KEY] == account_b.pk
    page = client.get(reverse("accounts:team"))
    assert page.context["account"] == account_b
    assert b"charlie@bravo.test" in page.content


def test_switching_to_an_account_you_are_not_in_is_a_404(client, alice, account_b):
    login(client, alice)
    response = client.post(reverse("accounts:switch_account"), {"account": account_b.pk})
    assert response.status_code == 404
    assert SESSION_KEY not in client.session


def test_switch_needs_post(client, alice):
    assert login(client, alice).get(reverse("accounts:switch_account")).status_code == 405
