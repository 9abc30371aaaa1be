"""Invitations (issue 15 item 1): single-use digest-stored link, 7 days, revocable, resendable,
sign-up or accept with the invited address, the account's 2FA policy, rate limit, audit."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from audit.services import Actor
from statuspool.accounts import invitation_services as invitations
from statuspool.accounts.models import Invitation, Membership, Role, User, invitation_digest
from statuspool.accounts.team_services import Acting
from statuspool.notifications.models import OutboxEmail
from statuspool.notifications.services import SEALED_KEY, render_message
from tests.conftest import PASSWORD, login, make_user

from .conftest import code_at_step, events

NEW_PASSWORD = "a long fresh passphrase 314"


def _acting(user, role=Role.OWNER):
    return Acting(actor=Actor.system("test"), role=role, user=user)


def _invite(account, by, email="erin@newcomer.test", role=Role.MEMBER):
    return invitations.invitation_create(
        account=account, email=email, role=role, acting=_acting(by)
    )


def _link_in_outbox(email_row) -> str:
    text = render_message(email_row).body
    return re.search(r"http://\S+/invitations/(sp_inv_\w+)/", text).group(0)


def test_the_link_is_stored_as_a_digest_only(account_a, alice):
    invitation, raw = _invite(account_a, alice)
    assert raw.startswith("sp_inv_")
    assert invitation.token_digest == invitation_digest(raw)
    email = OutboxEmail.objects.get(template="team_invitation")
    assert raw not in str(email.context)  # sealed at rest
    assert raw in _link_in_outbox(email)
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)


def test_the_sealed_link_is_erased_once_sent(account_a, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(account_a, alice)
    email = OutboxEmail.objects.get(template="team_invitation")
    assert email.status == OutboxEmail.Status.SENT
    assert SEALED_KEY not in email.context


def test_new_person_signs_up_through_the_link_and_joins(client, account_a, alice):
    invitation, raw = _invite(account_a, alice, role=Role.ADMIN)
    opened = client.get(f"/invitations/{raw}/")
    assert opened.status_code == 302 and raw not in opened["Location"]
    page = client.get(opened["Location"]).content.decode()
    assert "Sign up and join" in page and "alice@acme.test" in page
    response = client.post(
        "/invitations/signup/", {"full_name": "Erin New", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    erin = User.objects.get(email="erin@newcomer.test")
    assert not Membership.objects.filter(user=erin).exists()  # not yet: joining is explicit
    assert client.post("/invitations/accept/").status_code == 302
    membership = Membership.objects.get(user=erin, account=account_a)
    assert membership.role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_by == erin and invitation.accepted_at is not None
    joined = events("team.joined")[0]
    assert joined.details["invited_by"] == "alice@acme.test" and joined.actor_email == erin.email
    assert events("auth.signup")[0].account_id == account_a.pk
    # Single use: the same link again does nothing.
    other = Client()
    other.get(f"/invitations/{raw}/")
    assert other.get("/invitations/accept/").status_code == 404


def test_existing_user_logs_in_and_accepts(client, account_a, alice, charlie):
    _invitation, raw = _invite(account_a, alice, email="charlie@bravo.test")
    client.get(f"/invitations/{raw}/")
    assert "Log in to accept" in client.get("/invitations/accept/").content.decode()
    login(client, charlie)
    assert client.post("/invitations/accept/").status_code == 302
    assert Membership.objects.get(user=charlie, account=account_a).role == Role.MEMBER


def test_someone_else_logged_in_cannot_accept(client, account_a, alice, charlie):
    _invitation, raw = _invite(account_a, alice, email="erin@newcomer.test")
    login(client, charlie)
    client.get(f"/invitations/{raw}/")
    page = client.post("/invitations/accept/").content.decode()
    assert "this invitation is for erin@newcomer.test" in page
    assert not Membership.objects.filter(user=charlie, account=account_a).exists()


def test_two_factor_policy_refuses_acceptance_until_enrolled(client, account_a, alice):
    account_a.require_2fa = True
    account_a.save()
    invitation, raw = _invite(account_a, alice, email="dave@acme.test")
    dave = make_user("dave@acme.test", with_2fa=False)
    with pytest.raises(invitations.TwoFactorRequired):
        invitations.invitation_accept(invitation=invitation, user=dave, actor=Actor.system("t"))
    login(client, dave)
    client.get(f"/invitations/{raw}/")
    response = client.post("/invitations/accept/")
    assert response.status_code == 302 and response["Location"].startswith(
        "/settings/security/2fa/"
    )
    assert not Membership.objects.filter(user=dave).exists()
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_expired_revoked_and_replaced_links_do_not_work(client, account_a, alice):
    invitation, raw = _invite(account_a, alice)
    new_raw = invitations.invitation_resend(invitation=invitation, acting=_acting(alice))
    assert Invitation.objects.by_token(raw) is None
    assert Invitation.objects.by_token(new_raw) == invitation
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert Invitation.objects.by_token(new_raw) is None
    invitations.invitation_revoke(invitation=invitation, acting=_acting(alice))
    assert Invitation.objects.by_token(new_raw) is None
    assert Invitation.objects.by_token("sp_inv_typo") is None
    client.get(f"/invitations/{new_raw}/")
    assert client.get("/invitations/accept/").status_code == 404


def test_nobody_is_invited_as_owner_and_members_do_not_invite(account_a, alice, mallory):
    with pytest.raises(ValidationError):
        _invite(account_a, alice, role=Role.OWNER)
    with pytest.raises(PermissionDenied):
        invitations.invitation_create(
            account=account_a,
            email="x@example.test",
            role=Role.MEMBER,
            acting=_acting(mallory, role=Role.MEMBER),
        )
    with pytest.raises(ValidationError):  # already a member
        _invite(account_a, alice, email="alice@acme.test")
    assert not Invitation.objects.exists()


def test_dashboard_invite_lists_it_with_its_sender(client, account_a, alice, mallory):
    login(client, alice)
    response = client.post(
        "/settings/team/invite/", {"email": "Erin@Newcomer.test", "role": "member"}
    )
    assert response.status_code == 302
    page = client.get("/settings/team/").content.decode()
    assert "erin@newcomer.test" in page and "Pending invitations" in page
    assert events("team.invited")[0].details["email"] == "erin@newcomer.test"
    login(client, mallory)
    assert client.get("/settings/team/invite/").status_code == 404
    assert "erin@newcomer.test" not in client.get("/settings/team/").content.decode()


def test_inviting_an_admin_needs_sudo(client, account_a, alice):
    login(client, alice)
    response = client.post(
        "/settings/team/invite/", {"email": "erin@newcomer.test", "role": "admin"}
    )
    assert response.status_code == 200
    assert not Invitation.objects.exists()
    response = client.post(
        "/settings/team/invite/",
        {
            "email": "erin@newcomer.test",
            "role": "admin",
            "password": PASSWORD,
            "otp_code": code_at_step(alice),
        },
    )
    assert response.status_code == 302
    assert Invitation.objects.get().role == Role.ADMIN


def test_resend_and_revoke_from_the_team_page(client, account_a, alice, charlie):
    invitation, raw = _invite(account_a, alice)
    login(client, alice)
    assert client.post(f"/settings/team/invitations/{invitation.pk}/resend/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.token_digest != invitation_digest(raw)
    assert OutboxEmail.objects.filter(template="team_invitation").count() == 2
    login(client, charlie)  # another account's invitation is a 404
    assert client.post(f"/settings/team/invitations/{invitation.pk}/revoke/").status_code == 404
    login(client, alice)
    assert client.post(f"/settings/team/invitations/{invitation.pk}/revoke/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert [e.action for e in events("team.invitation_revoked")] == ["team.invitation_revoked"]


def test_invitations_are_rate_limited_per_account(client, account_a, alice, settings):
    settings.INVITATION_RATE_PER_ACCOUNT = "2/h"
    login(client, alice)
    for number in range(2):
        client.post(
            "/settings/team/invite/", {"email": f"p{number}@example.test", "role": "member"}
        )
    response = client.post("/settings/team/invite/", {"email": "p9@example.test", "role": "member"})
    assert "Too many invitations" in response.content.decode()
    assert Invitation.objects.count() == 2
