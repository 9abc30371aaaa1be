"""/v2 with OAuth access tokens: the same Credential as an API key, revoked the moment it must be."""

import pytest
from django.test import RequestFactory

from audit.models import AuditEvent
from oauthapps import token_format
from oauthapps.authentication import authenticate_access_token
from oauthapps.models import Authorization, RefreshToken
from statuspool.accounts.models import Membership
from statuspool.api.credentials import CredentialKind
from statuspool.api.errors import InvalidToken
from tests.oauthapps.helpers import issue_tokens, refresh

pytestmark = pytest.mark.django_db


def _get(client, access, path="/v2/monitors"):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {access}")


def test_credential_is_the_grants_account_and_scopes(app, bob, account_a):
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read", "teams:admin"])
    credential = authenticate_access_token(access, RequestFactory().get("/v2/monitors"))
    authorization = Authorization.objects.get()
    assert credential.kind == CredentialKind.OAUTH_TOKEN
    assert credential.account_id == account_a.pk and credential.plan == "team"
    assert credential.scopes == frozenset({"monitors:read", "teams:admin"})
    assert credential.rate_limit_identity == f"oauth:{app.pk}:{account_a.pk}"
    assert credential.authorization_id == authorization.pk
    assert credential.label == "PagerDuty Sync"
    assert credential.user_id == bob.pk
    assert credential.expires_at


def test_none_for_a_typo(app, bob, account_a, django_assert_num_queries):
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read"])
    request = RequestFactory().get("/v2/monitors")
    typo = access[:-1] + ("A" if access[-1] != "A" else "B")
    with django_assert_num_queries(0), pytest.raises(InvalidToken):
        authenticate_access_token(typo, request)
    with django_assert_num_queries(0), pytest.raises(InvalidToken):
        authenticate_access_token("sp_oat_" + "x" * 40, request)


def test_unknown_well_formed_token_is_401(client, db):
    response = _get(client, token_format.generate_access_token())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert "Bearer" in response["WWW-Authenticate"]


def test_removing_bob_from_the_account_makes_his_tokens_401(
    client, app, secret, bob, account_a, django_capture_on_commit_callbacks
):
    access, refresh_raw = issue_tokens(app, bob, account_a, ["monitors:read"])
    assert _get(client, access).status_code == 200  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.get(user=bob, account=account_a).delete()
    assert _get(client, access).status_code == 401
    assert refresh(client, app, secret, refresh_raw).status_code == 400
    authorization = Authorization.objects.get()
    assert authorization.revoked_at is not None  # the grant ended with the membership
    assert RefreshToken.objects.get().revoked is not None
    event = AuditEvent.objects.get(action="oauth.grant_revoked")
    assert event.actor_kind == "system" and event.details["reason"] == "left the account"
    # Invited back later, the old token stays dead.
    Membership.objects.create(user=bob, account=account_a, role="admin")
    assert _get(client, access).status_code == 401


def test_membership_check_does_not_depend_on_the_signal(client, app, bob, account_a):
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read"])
    Membership.objects.filter(user=bob, account=account_a).delete()  # bulk: no signal per row
    assert _get(client, access).status_code == 401


def test_role_downgrade_drops_the_scope_at_once(
    client, app, bob, account_a, django_capture_on_commit_callbacks
):
    """Saved directly (not the Team screen's demotion, which ends the grant): the cached
    credential is invalidated and the new role cuts the token's scopes."""
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read", "teams:admin"])
    membership = Membership.objects.get(user=bob, account=account_a)
    assert _get(client, access, "/v2/team/members").status_code == 200  # now cached
    membership.role = "member"
    with django_capture_on_commit_callbacks(execute=True):
        membership.save()
    refused = _get(client, access, "/v2/team/members")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert _get(client, access).status_code == 200  # monitors:read is still within the role
    membership.role = "admin"
    with django_capture_on_commit_callbacks(execute=True):
        membership.save()
    assert _get(client, access, "/v2/team/members").status_code == 200


def test_token_acts_only_in_its_grants_account(client, app, alice, account_a, account_b):
    from statuspool.monitoring.models import Monitor

    mine = Monitor.objects.create(account=account_a, name="Mine", url="https://a.example")
    theirs = Monitor.objects.create(account=account_b, name="Theirs", url="https://b.example")
    access, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    assert _get(client, access, f"/v2/monitors/{mine.pk}").status_code == 200
    assert _get(client, access, f"/v2/monitors/{theirs.pk}").status_code == 404


def test_deactivated_user_is_refused(
    client, app, alice, account_a, django_capture_on_commit_callbacks
):
    access, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    assert _get(client, access).status_code == 200  # now cached
    alice.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        alice.save()
    assert _get(client, access).status_code == 401


def test_token_in_the_query_string_is_refused(client, app, alice, account_a):
    access, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    response = client.get(f"/v2/monitors?access_token={access}")
    assert response.status_code == 400


def test_credential_endpoint_describes_the_oauth_token(client, app, alice, account_a):
    access, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    response = _get(client, access, "/v2/credential")
    assert response.status_code == 200
    body = response.json()
    assert body["account"]["id"] == account_a.pk
    assert body["scopes"] == ["monitors:read"]


def test_monitor_list_with_an_oauth_token_query_count(
    client, app, alice, account_a, django_assert_num_queries
):
    access, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    _get(client, access)  # warms the token cache (and whatever per-process state there is)
    with django_assert_num_queries(1):  # the monitors: the token came from the cache
        assert _get(client, access).status_code == 200


def test_rate_limit_bucket_is_per_application_and_account(app, alice, bob, account_a, account_b):
    """Two people approving one application for one account share its rate limit (SPEC)."""
    request = RequestFactory().get("/v2/monitors")
    alice_access, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    bob_access, _ = issue_tokens(app, bob, account_a, ["monitors:read"])
    alices = authenticate_access_token(alice_access, request)
    bobs = authenticate_access_token(bob_access, request)
    assert alices.authorization_id != bobs.authorization_id
    assert alices.rate_limit_identity == bobs.rate_limit_identity

    Membership.objects.create(user=bob, account=account_b, role="admin")
    other_account, _ = issue_tokens(app, bob, account_b, ["monitors:read"])
    elsewhere = authenticate_access_token(other_account, request)
    assert elsewhere.rate_limit_identity != bobs.rate_limit_identity
