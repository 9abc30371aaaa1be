"""team_admin_required and membership_required, as every credential screen uses them."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from statuspool.accounts.decorators import TWO_FACTOR_NEEDED
from statuspool.accounts.middleware import SESSION_KEY
from statuspool.accounts.models import Membership, Role
from tests.conftest import login, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.urls_decorated")]

ADMIN_ONLY = "/_test/admin-only/"
MEMBERS_ONLY = "/_test/members-only/"


@pytest.mark.parametrize("url", [ADMIN_ONLY, MEMBERS_ONLY, "/_test/bare-admin-only/"])
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login") + "?next=")


@pytest.mark.parametrize("fixture", ["alice", "bob"])
def test_team_admins_with_2fa_get_in(client, request, fixture, account_a):
    user = request.getfixturevalue(fixture)
    response = login(client, user).get(ADMIN_ONLY)
    assert response.status_code == 200
    assert response.content == f"admin of {account_a.pk}".encode()


def test_plain_member_gets_404_on_admin_screens(client, mallory):
    login(client, mallory)
    assert client.get(ADMIN_ONLY).status_code == 404
    assert client.get(MEMBERS_ONLY).status_code == 200


def test_owner_of_another_account_acts_only_in_their_own(client, charlie, account_a, account_b):
    login(client, charlie)
    session = client.session
    session[SESSION_KEY] = account_a.pk  # pretends to work in Acme
    session.save()
    response = client.get(ADMIN_ONLY)
    # The middleware ignores an account Charlie does not belong to: he stays in Bravo.
    assert response.content == f"admin of {account_b.pk}".encode()


def test_user_without_any_account_gets_404(client):
    loner = make_user("loner@example.test")
    login(client, loner)
    assert client.get(ADMIN_ONLY).status_code == 404
    assert client.get(MEMBERS_ONLY).status_code == 404


def test_team_admin_without_2fa_is_sent_to_enrollment_with_an_explanation(client, account_a):
    admin = make_user("fresh-admin@acme.test", with_2fa=False)
    Membership.objects.create(user=admin, account=account_a, role=Role.ADMIN)
    login(client, admin)

    response = client.get(ADMIN_ONLY + "?page=2")

    assert response.status_code == 302
    assert (
        response.url
        == reverse("accounts:twofactor_enroll") + "?next=%2F_test%2Fadmin-only%2F%3Fpage%3D2"
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [TWO_FACTOR_NEEDED]
    page = client.get(response.url)
    assert b"credential screens" in page.content
    # A POST cannot be replayed after enrollment, so it carries no way back.
    assert client.post(ADMIN_ONLY).url == reverse("accounts:twofactor_enroll")


def test_member_without_2fa_is_still_a_member(client, account_a):
    member = make_user("fresh-member@acme.test", with_2fa=False)
    Membership.objects.create(user=member, account=account_a, role=Role.MEMBER)
    login(client, member)
    assert client.get(MEMBERS_ONLY).status_code == 200
    assert client.get(ADMIN_ONLY).status_code == 404


def test_admin_check_query_count(client, bob, django_assert_num_queries):
    login(client, bob)
    # session, user, membership (+account), TOTP device
    with django_assert_num_queries(4):
        assert client.get(ADMIN_ONLY).status_code == 200
