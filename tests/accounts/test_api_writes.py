"""/v2 team writes (issue 15 item 7): roles, removal, invitations, billing email — the dashboard's
rules and audit, plus: a credential cannot change the role of the user it acts for, and an API key
cannot make anyone an owner."""

import pytest

from audit.models import AuditEvent
from oauthapps.models import Authorization
from statuspool.accounts.models import Invitation, Membership, Role
from statuspool.notifications.models import OutboxEmail
from tests.api.fixtures import error_code, issue_key
from tests.oauthapps.helpers import issue_tokens, register_app


@pytest.fixture
def key_bearer(seeded_a):
    return f"Bearer {issue_key(seeded_a.account, ['teams:admin'], name='ops-admin')[1]}"


def _token_for(user, account, scopes=("teams:admin", "monitors:read")):
    app, _ = register_app(account, name=f"Console {user.pk}")
    return f"Bearer {issue_tokens(app, user, account, list(scopes))[0]}"


def test_api_key_changes_a_role_and_it_is_audited_as_the_key(api, key_bearer, seeded_a):
    member = seeded_a.other_member
    response = api("PATCH", f"/v2/team/members/{member.pk}", key_bearer, json={"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"
    member.refresh_from_db()
    assert member.role == Role.ADMIN
    event = AuditEvent.objects.get(action="team.role_changed")
    assert event.actor_kind == "api_key" and "ops-admin" not in event.actor_email


def test_api_key_cannot_make_anyone_owner(api, key_bearer, seeded_a, bob):
    response = api(
        "PATCH", f"/v2/team/members/{bob.memberships.get().pk}", key_bearer, json={"role": "owner"}
    )
    assert response.status_code == 403
    assert error_code(response) == "api_key_cannot_make_owner"
    assert Membership.objects.get(user=bob).role == Role.ADMIN
    assert seeded_a.account.owner.email == "alice@acme.test"


def test_a_token_cannot_change_its_own_users_role_or_remove_them(api, seeded_a, bob):
    bearer = _token_for(bob, seeded_a.account)
    own = bob.memberships.get()
    for method, body in (("PATCH", {"role": "member"}), ("DELETE", None)):
        response = api(method, f"/v2/team/members/{own.pk}", bearer, json=body)
        assert response.status_code == 403
        assert error_code(response) == "cannot_change_self"
    assert Membership.objects.get(user=bob).role == Role.ADMIN


def test_owner_token_transfers_ownership_by_making_someone_owner(api, seeded_a, alice, bob):
    bearer = _token_for(alice, seeded_a.account)
    response = api(
        "PATCH", f"/v2/team/members/{bob.memberships.get().pk}", bearer, json={"role": "owner"}
    )
    assert response.status_code == 200, response.content
    assert Membership.objects.get(user=bob).role == Role.OWNER
    assert Membership.objects.get(user=alice).role == Role.ADMIN
    assert AuditEvent.objects.filter(action="team.ownership_transferred").count() == 1


def test_admin_token_cannot_transfer_or_touch_the_owner(api, seeded_a, alice, bob):
    bearer = _token_for(bob, seeded_a.account)
    owner = alice.memberships.get()
    assert (
        api("PATCH", f"/v2/team/members/{owner.pk}", bearer, json={"role": "owner"}).status_code
        == 403
    )
    assert api("DELETE", f"/v2/team/members/{owner.pk}", bearer).status_code == 403
    assert (
        api(
            "PATCH", f"/v2/team/members/{seeded_a.other_member.pk}", bearer, json={"role": "owner"}
        ).status_code
        == 403
    )
    assert Membership.objects.get(user=alice).role == Role.OWNER


def test_removal_through_the_api_ends_the_members_oauth_grant(
    api, key_bearer, seeded_a, bob, django_capture_on_commit_callbacks
):
    bobs = _token_for(bob, seeded_a.account)
    assert api("GET", "/v2/credential", bobs).status_code == 200  # now cached
    with django_capture_on_commit_callbacks(execute=True):  # the removal commits
        response = api("DELETE", f"/v2/team/members/{bob.memberships.get().pk}", key_bearer)
    assert response.status_code == 204
    assert not Membership.objects.filter(user=bob).exists()
    assert not Authorization.objects.active().filter(user=bob).exists()
    assert api("GET", "/v2/credential", bobs).status_code == 401


def test_invitations_through_the_api(api, key_bearer, seeded_a):
    created = api(
        "POST",
        "/v2/team/invitations",
        key_bearer,
        json={"email": "New@Example.test", "role": "admin"},
    )
    assert created.status_code == 201
    body = created.json()
    assert (
        body["email"] == "new@example.test" and body["role"] == "admin" and body["invited_by"] == ""
    )
    assert "sp_inv_" not in created.content.decode()  # the link goes by email only
    assert OutboxEmail.objects.filter(template="team_invitation", to=["new@example.test"]).exists()
    listed = api("GET", "/v2/team/invitations", key_bearer).json()["results"]
    assert "new@example.test" in [item["email"] for item in listed]
    owner = api(
        "POST",
        "/v2/team/invitations",
        key_bearer,
        json={"email": "x@example.test", "role": "owner"},
    )
    assert owner.status_code == 400
    assert api("DELETE", f"/v2/team/invitations/{body['id']}", key_bearer).status_code == 204
    assert Invitation.objects.get(pk=body["id"]).revoked_at is not None
    assert api("DELETE", f"/v2/team/invitations/{body['id']}", key_bearer).status_code == 404


def test_invitations_are_rate_limited_on_the_api_too(api, key_bearer, seeded_a, settings):
    settings.INVITATION_RATE_PER_ACCOUNT = "1/h"
    api("POST", "/v2/team/invitations", key_bearer, json={"email": "a@example.test"})
    refused = api("POST", "/v2/team/invitations", key_bearer, json={"email": "b@example.test"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert not Invitation.objects.filter(email="b@example.test").exists()


def test_billing_email_through_the_api(api, key_bearer, seeded_a, alice, bob):
    response = api("PATCH", "/v2/billing", key_bearer, json={"billing_email": "Invoices@Acme.test"})
    assert response.status_code == 200 and response.json()["billing_email"] == "invoices@acme.test"
    seeded_a.account.refresh_from_db()
    assert seeded_a.account.billing_email == "invoices@acme.test"
    refused = api(
        "PATCH",
        "/v2/billing",
        _token_for(bob, seeded_a.account),
        json={"billing_email": "x@evil.test"},
    )
    assert refused.status_code == 403
    seeded_a.account.refresh_from_db()
    assert seeded_a.account.billing_email == "invoices@acme.test"
    assert (
        api("PATCH", "/v2/billing", key_bearer, json={"billing_email": "nope"}).status_code == 400
    )
