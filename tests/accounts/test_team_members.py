"""Roles, removal, ownership transfer and the 2FA policy (issue 15 items 2 and 3).

Every refusal is checked on the stored state, not only on the answer.
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from apikeys.services import apikey_create
from audit.services import Actor
from oauthapps.models import Authorization
from statuspool.accounts import team_services
from statuspool.accounts.models import Membership, Role
from tests.conftest import PASSWORD, login, make_user
from tests.oauthapps.helpers import issue_tokens, register_app

from .conftest import code_at_step, events

V2 = "/v2/credential"


def _acting(user, account, *, role=None):
    membership = Membership.objects.get(user=user, account=account)
    return team_services.Acting(actor=Actor.system("test"), role=role or membership.role, user=user)


def _sudo(user, **data):
    return {"password": PASSWORD, "otp_code": code_at_step(user), **data}


def _bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def bob_token(account_a, alice, bob):
    app, _ = register_app(account_a, user=alice)
    access, _refresh = issue_tokens(app, bob, account_a, ["monitors:read", "teams:admin"])
    return access


# --- Role change ------------------------------------------------------------------------------------
def test_owner_demotes_an_admin_with_sudo_and_their_oauth_grant_ends(
    client, account_a, alice, bob, bob_token, django_capture_on_commit_callbacks
):
    assert client.get(V2, **_bearer(bob_token)).status_code == 200  # now cached
    login(client, alice)
    with django_capture_on_commit_callbacks(execute=True):  # the demotion commits
        response = client.post(
            f"/settings/team/members/{bob.memberships.get().pk}/role/", _sudo(alice, role="member")
        )
    assert response.status_code == 302
    assert Membership.objects.get(user=bob).role == Role.MEMBER
    assert not Authorization.objects.active().filter(user=bob).exists()
    client.logout()
    refused = client.get(V2, **_bearer(bob_token))
    assert refused.status_code == 401
    event = events("team.role_changed")[0]
    assert event.details["before"] == "admin" and event.details["after"] == "member"
    assert event.actor_email == "alice@acme.test"
    revoked = events("oauth.grant_revoked")[0]
    assert revoked.actor_email == "alice@acme.test"
    assert revoked.details["reason"] == "role changed to member"


def test_role_change_without_sudo_changes_nothing(client, account_a, alice, bob):
    login(client, alice)
    url = f"/settings/team/members/{bob.memberships.get().pk}/role/"
    response = client.post(url, {"role": "member", "password": "wrong", "otp_code": "000000"})
    assert response.status_code == 200
    assert Membership.objects.get(user=bob).role == Role.ADMIN
    assert events("team.role_changed") == []


def test_members_cannot_open_the_role_page(client, account_a, alice, bob, mallory):
    login(client, mallory)
    url = f"/settings/team/members/{bob.memberships.get().pk}/role/"
    assert client.get(url).status_code == 404
    assert client.post(url, _sudo(mallory, role="member")).status_code == 404
    assert Membership.objects.get(user=bob).role == Role.ADMIN


def test_admin_cannot_touch_the_owner_or_themselves(client, account_a, alice, bob):
    login(client, bob)
    owner = alice.memberships.get()
    assert client.get(f"/settings/team/members/{owner.pk}/role/").status_code == 404
    assert client.post(f"/settings/team/members/{owner.pk}/remove/", _sudo(bob)).status_code == 404
    own = bob.memberships.get()
    assert client.get(f"/settings/team/members/{own.pk}/role/").status_code == 404
    assert Membership.objects.get(user=alice).role == Role.OWNER


def test_another_accounts_member_is_a_404(client, account_a, alice, charlie):
    login(client, alice)
    theirs = charlie.memberships.get()
    assert client.get(f"/settings/team/members/{theirs.pk}/role/").status_code == 404
    assert client.post(f"/settings/team/members/{theirs.pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_the_service_refuses_to_make_or_unmake_an_owner(account_a, alice, bob):
    acting = _acting(alice, account_a)
    with pytest.raises(ValidationError):
        team_services.member_change_role(
            membership=bob.memberships.get(), role="owner", acting=acting
        )
    with pytest.raises(PermissionDenied):
        team_services.member_change_role(
            membership=alice.memberships.get(), role="member", acting=_acting(bob, account_a)
        )
    with pytest.raises(PermissionDenied):
        team_services.member_remove(
            membership=alice.memberships.get(), acting=_acting(bob, account_a)
        )
    assert Membership.objects.get(user=alice).role == Role.OWNER
    assert Membership.objects.filter(account=account_a, role=Role.OWNER).count() == 1


def test_a_member_cannot_change_roles_even_through_the_service(account_a, bob, mallory):
    with pytest.raises(PermissionDenied):
        team_services.member_change_role(
            membership=bob.memberships.get(), role="member", acting=_acting(mallory, account_a)
        )
    assert Membership.objects.get(user=bob).role == Role.ADMIN


# --- Removal ------------------------------------------------------------------------------------------
def test_removal_takes_effect_on_the_next_request_everywhere(
    client, account_a, alice, bob, bob_token
):
    key, _raw = apikey_create(
        account=account_a,
        name="bobs-key",
        scopes=["monitors:read"],
        actor=Actor.system("test"),
        created_by=bob,
    )
    bob_browser = login(Client(), bob)
    assert bob_browser.get("/settings/api-access/").status_code == 200
    login(client, alice)
    response = client.post(
        f"/settings/team/members/{bob.memberships.get().pk}/remove/", _sudo(alice)
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(user=bob, account=account_a).exists()
    # Bob's still-open session: the account is gone from it.
    assert bob_browser.get("/settings/api-access/").status_code == 404
    assert bob_browser.get("/settings/team/").status_code == 404
    # Bob's OAuth token for the account: refused on the next request.
    client.logout()
    assert client.get(V2, **_bearer(bob_token)).status_code == 401
    # His key stays with the account, flagged.
    key.refresh_from_db()
    assert key.status == "active"
    login(client, alice)
    page = client.get("/settings/api-access/").content.decode()
    assert "former member" in page
    event = events("team.member_removed")[0]
    assert event.details == {"email": "bob@acme.test", "role": "admin"}


def test_removing_an_admin_needs_sudo(client, account_a, alice, bob):
    login(client, alice)
    response = client.post(f"/settings/team/members/{bob.memberships.get().pk}/remove/")
    assert response.status_code == 200
    assert Membership.objects.filter(user=bob, account=account_a).exists()


def test_removing_a_plain_member_needs_no_sudo(client, account_a, alice, mallory):
    login(client, alice)
    response = client.post(f"/settings/team/members/{mallory.memberships.get().pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(user=mallory).exists()


# --- Ownership transfer -----------------------------------------------------------------------------
def test_owner_transfers_ownership_to_a_member_with_2fa(client, account_a, alice, bob):
    login(client, alice)
    response = client.post("/settings/team/transfer/", _sudo(alice, new_owner=bob.pk))
    assert response.status_code == 302
    assert Membership.objects.get(user=bob).role == Role.OWNER
    assert Membership.objects.get(user=alice).role == Role.ADMIN
    assert account_a.owner == bob
    event = events("team.ownership_transferred")[0]
    assert event.details["previous_owner"] == "alice@acme.test"


def test_transfer_to_someone_without_2fa_is_refused(account_a, alice):
    dave = make_user("dave@acme.test", with_2fa=False)
    Membership.objects.create(user=dave, account=account_a, role=Role.MEMBER)
    with pytest.raises(ValidationError):
        team_services.ownership_transfer(
            account=account_a, new_owner=dave, acting=_acting(alice, account_a)
        )
    assert account_a.owner == alice
    assert Membership.objects.get(user=dave).role == Role.MEMBER


def test_only_the_owner_transfers(client, account_a, alice, bob):
    login(client, bob)
    assert client.get("/settings/team/transfer/").status_code == 404
    with pytest.raises(PermissionDenied):
        team_services.ownership_transfer(
            account=account_a, new_owner=bob, acting=_acting(bob, account_a, role=Role.OWNER)
        )
    assert account_a.owner == alice


# --- Require 2FA for everyone ------------------------------------------------------------------------
def test_policy_sends_members_without_2fa_to_enrollment(client, account_a, alice):
    dave = make_user("dave@acme.test", with_2fa=False)
    Membership.objects.create(user=dave, account=account_a, role=Role.MEMBER)
    login(client, dave)
    assert client.get("/monitors/").status_code == 200
    owner = login(Client(), alice)
    response = owner.post("/settings/team/policy/", _sudo(alice, require_2fa="on"))
    assert response.status_code == 302
    account_a.refresh_from_db()
    assert account_a.require_2fa is True
    sent = client.get("/monitors/")
    assert sent.status_code == 302 and sent["Location"].startswith("/settings/security/2fa/")
    assert client.get(sent["Location"]).status_code == 200
    team = owner.get("/settings/team/").content.decode()
    assert "Not enrolled yet: dave@acme.test" in team


def test_policy_needs_the_owner_and_sudo(client, account_a, alice, bob):
    login(client, bob)
    assert client.post("/settings/team/policy/", _sudo(bob, require_2fa="on")).status_code == 404
    login(client, alice)
    response = client.post("/settings/team/policy/", {"require_2fa": "on"})
    assert response.status_code == 200
    account_a.refresh_from_db()
    assert account_a.require_2fa is False
