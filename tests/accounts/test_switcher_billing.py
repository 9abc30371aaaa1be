"""The header account switcher (issue 15 item 5) and the Billing page (item 6), setplan."""

import pytest
from django.core.management import CommandError, call_command

from statuspool.accounts.models import Membership, Role
from tests.conftest import login

from .conftest import events


@pytest.fixture
def alice_in_b(alice, account_b, charlie):
    Membership.objects.create(user=alice, account=account_b, role=Role.MEMBER)
    return alice


def test_header_switcher_is_on_every_page_and_switches_by_post(client, alice_in_b, account_b):
    login(client, alice_in_b)
    for url in ("/monitors/", "/settings/security/", "/settings/team/"):
        page = client.get(url).content.decode()
        assert 'class="account-switcher"' in page and "Bravo Labs" in page
    assert client.get("/settings/team/switch/").status_code == 405
    response = client.post(
        "/settings/team/switch/", {"account": account_b.pk, "next": "/settings/team/"}
    )
    assert response["Location"] == "/settings/team/"
    assert "Bravo Labs · Member" in client.get("/monitors/").content.decode()


def test_switching_from_an_object_page_lands_on_home(client, alice_in_b, account_b):
    login(client, alice_in_b)
    response = client.post(
        "/settings/team/switch/",
        {"account": account_b.pk, "next": "/settings/api-access/keys/abc/"},
    )
    assert response["Location"] == "/"


def test_no_switcher_for_people_in_one_account(client, alice):
    login(client, alice)
    page = client.get("/monitors/").content.decode()
    assert "account-switcher" not in page and "Acme Monitoring · Owner" in page


def test_switching_to_an_account_of_someone_else_is_a_404(client, alice, account_b, charlie):
    login(client, alice)
    assert client.post("/settings/team/switch/", {"account": account_b.pk}).status_code == 404


def test_billing_page_shows_plan_limits_and_counts(client, account_a, alice, bob):
    login(client, alice)
    page = client.get("/settings/billing/").content.decode()
    assert "Team plan" in page and "0 of 4 in use" in page and "2 members" in page
    assert "600 reads and 120 writes" in page


def test_owner_edits_the_billing_email(client, account_a, alice):
    login(client, alice)
    response = client.post("/settings/billing/", {"billing_email": "Invoices@Acme.test"})
    assert response.status_code == 302
    account_a.refresh_from_db()
    assert account_a.billing_email == "invoices@acme.test"
    assert events("account.billing_email_changed")[0].details["after"] == "invoices@acme.test"


def test_admins_see_but_do_not_edit_billing(client, account_a, alice, bob, mallory):
    login(client, bob)
    assert "Only the owner changes it" in client.get("/settings/billing/").content.decode()
    assert client.post("/settings/billing/", {"billing_email": "x@evil.test"}).status_code == 404
    account_a.refresh_from_db()
    assert account_a.billing_email == "billing@acme.test"
    login(client, mallory)
    assert client.get("/settings/billing/").status_code == 404


def test_setplan_is_audited_and_has_a_dry_run(account_a, capsys):
    call_command("setplan", str(account_a.pk), "enterprise", "--dry-run")
    account_a.refresh_from_db()
    assert account_a.plan == "team"
    call_command("setplan", "Acme Monitoring", "enterprise")
    account_a.refresh_from_db()
    assert account_a.plan == "enterprise"
    event = events("account.plan_changed")[0]
    assert (
        event.details == {"before": "team", "after": "enterprise"} and event.actor_kind == "system"
    )
    with pytest.raises(CommandError):
        call_command("setplan", str(account_a.pk), "gold")


def test_switching_from_an_admin_screen_to_an_account_where_one_is_a_member(
    client, alice_in_b, account_b
):
    login(client, alice_in_b)
    response = client.post(
        "/settings/team/switch/", {"account": account_b.pk, "next": "/settings/billing/"}
    )
    assert response["Location"] == "/"


def test_team_page_and_header_query_counts_are_pinned(
    client, alice_in_b, bob, mallory, account_a, django_assert_num_queries
):
    """Session, user, membership, switcher and the page's own lists: not one query per member."""
    from audit.services import Actor
    from statuspool.accounts.invitation_services import invitation_create
    from statuspool.accounts.team_services import Acting

    for number in range(3):
        invitation_create(
            account=account_a,
            email=f"p{number}@example.test",
            role="member",
            acting=Acting(actor=Actor.system("t"), role="owner", user=alice_in_b),
        )
    login(client, alice_in_b)
    client.get("/settings/team/")
    with django_assert_num_queries(6):
        assert client.get("/settings/team/").status_code == 200
    with django_assert_num_queries(5):
        assert client.get("/settings/security/").status_code == 200
