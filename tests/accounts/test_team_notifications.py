"""Security notifications of issue 15's events: the account's admins are told, and the person
concerned; through the one mechanism (statuspool.notifications.security)."""

from audit.services import Actor
from statuspool.accounts import team_services
from statuspool.accounts.invitation_services import invitation_accept, invitation_create
from statuspool.accounts.models import Membership, Role
from statuspool.accounts.password_reset import password_reset_complete
from statuspool.notifications.models import OutboxEmail
from tests.conftest import make_user


def _acting(user, role=Role.OWNER):
    return team_services.Acting(actor=Actor.system("test"), role=role, user=user)


def _notices(**filters):
    rows = OutboxEmail.objects.filter(template="security_notice", **filters).order_by("id")
    return {(row.to[0], row.subject) for row in rows}


def test_demotion_tells_the_admins_and_the_person(account_a, alice, bob):
    team_services.member_change_role(
        membership=bob.memberships.get(), role="member", acting=_acting(alice)
    )
    sent = _notices()
    assert {to for to, _ in sent} == {"alice@acme.test", "bob@acme.test"}
    assert all("role of bob@acme.test" in subject for _, subject in sent)


def test_removal_tells_the_removed_person_too(account_a, alice, bob, mallory):
    team_services.member_remove(membership=mallory.memberships.get(), acting=_acting(alice))
    recipients = {to for to, _ in _notices()}
    assert recipients == {"alice@acme.test", "bob@acme.test", "mallory@acme.test"}


def test_transfer_invitation_join_policy_and_billing_are_notified(account_a, alice, bob):
    team_services.ownership_transfer(account=account_a, new_owner=bob, acting=_acting(alice))
    invitation, _raw = invitation_create(
        account=account_a, email="erin@newcomer.test", role="member", acting=_acting(bob)
    )
    erin = make_user("erin@newcomer.test")
    invitation_accept(invitation=invitation, user=erin, actor=Actor.system("t"))
    team_services.account_set_require_2fa(account=account_a, enabled=True, acting=_acting(bob))
    team_services.account_update_billing_email(
        account=account_a, billing_email="new@acme.test", acting=_acting(bob)
    )
    subjects = " | ".join(subject for _, subject in _notices(to=["alice@acme.test"]))
    for words in (
        "Ownership of Acme Monitoring",
        "erin@newcomer.test was invited",
        "erin@newcomer.test joined",
        "two-factor",
        "billing email",
    ):
        assert words.lower() in subjects.lower(), words


def test_password_reset_tells_each_accounts_admins_and_the_person_once(
    account_a, account_b, alice, bob, charlie
):
    Membership.objects.create(user=bob, account=account_b, role=Role.MEMBER)
    password_reset_complete(
        user=bob, new_password="an entirely new phrase 77", actor=Actor.system("t")
    )
    sent = [row.to[0] for row in OutboxEmail.objects.filter(template="security_notice")]
    assert sorted(sent) == ["alice@acme.test", "bob@acme.test", "charlie@bravo.test"]
    assert not OutboxEmail.objects.filter(template="password_reset_done").exists()


def test_password_reset_of_someone_in_no_account_still_tells_them(db):
    loner = make_user("loner@example.test")
    password_reset_complete(
        user=loner, new_password="an entirely new phrase 77", actor=Actor.system("t")
    )
    assert OutboxEmail.objects.filter(
        template="password_reset_done", to=["loner@example.test"]
    ).exists()
