"""The shared cache of OAuth token authentications: a hit costs no query, a miss one lean query,
and every change that can make a token unusable or change what it may do is seen on the next
request although the token was cached (oauthapps.authcache)."""

import base64
import json
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.services import Actor
from oauthapps import authcache, authentication, services, token_format
from oauthapps.authentication import authenticate_access_token
from oauthapps.models import AccessToken, Authorization
from statuspool.accounts.models import Membership
from statuspool.accounts.team_services import (
    Acting,
    account_set_plan,
    member_change_role,
    member_remove,
)
from statuspool.credcache.models import PendingInvalidation
from statuspool.sharedcache import guard
from tests.apikeys.test_authcache import UNREACHABLE_CACHE
from tests.oauthapps.helpers import issue_tokens, refresh

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")


def _get(client, access, path="/v2/monitors"):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {access}")


def _entry(access):
    return authcache.peek(token_format.token_checksum(access))


@pytest.fixture
def bobs_token(app, bob, account_a):
    """(access, refresh) of Bob (admin of A) for PagerDuty Sync, already cached by one request."""
    access, refresh_raw = issue_tokens(app, bob, account_a, ["monitors:read", "teams:admin"])
    request = RequestFactory().get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {access}")
    authenticate_access_token(access, request)
    assert _entry(access) is not None
    return access, refresh_raw


def test_entry_is_plain_values_without_any_secret(app, secret, bob, bobs_token):
    access, refresh_raw = bobs_token
    stored = _entry(access)
    # The script's own fields: no secret to compare (the key is the token's digest).
    assert stored["_digest"] is None and stored["_pepper_id"] is None
    entry = {name: value for name, value in stored.items() if not name.startswith("_")}
    assert set(entry) == {
        "id", "account_id", "account_name", "plan", "scopes", "application_id", "label",
        "expires_at", "user_id", "authorization_id", "jkt",
    }  # fmt: skip
    assert json.loads(json.dumps(entry)) == entry  # stored as JSON
    text = repr(entry)
    for secret_value in (access, refresh_raw, secret, app.client_secret, bob.password):
        assert secret_value not in text
    assert token_format.token_checksum(access) not in text  # that is the key, not the value


def test_hit_costs_no_query_and_a_miss_one_lean_query(bobs_token, django_assert_num_queries):
    access, _ = bobs_token
    request = RequestFactory().get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {access}")
    with django_assert_num_queries(0):
        credential = authenticate_access_token(access, request)
    assert credential.scopes == frozenset({"monitors:read", "teams:admin"})
    cache.delete(authcache.entry_key(token_format.token_checksum(access)))
    with CaptureQueriesContext(connection) as queries:
        assert authenticate_access_token(access, request) == credential
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert sql.count("SELECT") == 1  # joins, no (correlated) subquery
    assert "password" not in sql and "client_secret" not in sql
    assert '"oauthapps_accesstoken"."token"' not in sql.replace('"token_checksum"', "")


def test_a_cached_token_past_its_expiry_is_refused(client, app, bob, account_a):
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read"], expires_in=10)
    assert _get(client, access).status_code == 200  # now cached, for longer than it lives
    with time_machine.travel(timezone.now() + timedelta(seconds=11)):
        assert _entry(access) is not None  # still cached...
        assert _get(client, access).status_code == 401  # ...but the clock decides


def test_revocation_through_the_revoke_endpoint(
    client, app, secret, bobs_token, django_capture_on_commit_callbacks
):
    access, _ = bobs_token
    basic = base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/oauth/revoke", {"token": access}, HTTP_AUTHORIZATION=f"Basic {basic}"
        )
    assert response.status_code == 200
    assert _get(client, access).status_code == 401


@pytest.mark.parametrize(
    "revoke",
    [
        lambda app: services.authorization_revoke(
            authorization=Authorization.objects.get(), actor=ACTOR
        ),
        lambda app: services.application_delete(application=app, actor=ACTOR),
    ],
    ids=["connected-application-revoked", "application-deleted"],
)
def test_dashboard_revocations(client, app, bobs_token, revoke, django_capture_on_commit_callbacks):
    access, _ = bobs_token
    with django_capture_on_commit_callbacks(execute=True):
        revoke(app)
    assert _get(client, access).status_code == 401


def test_rotation_revokes_the_old_access_token(
    client, app, secret, bobs_token, django_capture_on_commit_callbacks
):
    access, refresh_raw = bobs_token
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh(client, app, secret, refresh_raw).status_code == 200
    assert _get(client, access).status_code == 401


def test_membership_removal(
    client, alice, bob, account_a, bobs_token, django_capture_on_commit_callbacks
):
    access, _ = bobs_token
    alice_acts = Acting.person(actor=ACTOR, membership=alice.memberships.get(account=account_a))
    with django_capture_on_commit_callbacks(execute=True):
        member_remove(membership=bob.memberships.get(account=account_a), acting=alice_acts)
    assert _get(client, access).status_code == 401


def test_promotion_widens_the_scopes_of_a_cached_token(
    client, app, alice, bob, account_a, django_capture_on_commit_callbacks
):
    """A member's token asked for teams:admin, which a member may not use; made admin on the
    Team screen, the cached credential is replaced on the next request."""
    Membership.objects.filter(user=bob, account=account_a).update(role="member")
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read", "teams:admin"])
    assert _get(client, access, "/v2/team/members").status_code == 403  # now cached
    alice_acts = Acting.person(actor=ACTOR, membership=alice.memberships.get(account=account_a))
    with django_capture_on_commit_callbacks(execute=True):
        member_change_role(
            membership=bob.memberships.get(account=account_a), role="admin", acting=alice_acts
        )
    assert _get(client, access, "/v2/team/members").status_code == 200


def test_plan_change_reaches_the_cached_credential(
    client, account_a, bobs_token, django_capture_on_commit_callbacks
):
    access, _ = bobs_token
    assert _entry(access)["plan"] == "team"
    with django_capture_on_commit_callbacks(execute=True):
        assert account_set_plan(account=account_a, plan="enterprise", actor=ACTOR)
    assert _entry(access) is None
    credential = authenticate_access_token(access, RequestFactory().get("/v2/monitors"))
    assert credential.plan == "enterprise"


def test_application_rename_reaches_the_label(app, bobs_token, django_capture_on_commit_callbacks):
    access, _ = bobs_token
    with django_capture_on_commit_callbacks(execute=True):
        services.application_update(
            application=app,
            name="PagerDuty Sync v2",
            description=app.description,
            redirect_uris=app.redirect_uri_list,
            actor=ACTOR,
        )
    credential = authenticate_access_token(access, RequestFactory().get("/v2/monitors"))
    assert credential.label == "PagerDuty Sync v2"


def test_a_read_from_before_the_revocation_cannot_repopulate_the_cache(
    client, app, bob, account_a, monkeypatch, django_capture_on_commit_callbacks
):
    """A request reads the token (live), the revocation commits and invalidates, then that
    request writes its stale entry: the entry must not be believed afterwards."""
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read"])
    original = authentication.live_access_token

    def read_then_lose_the_race(checksum):
        row = original(checksum)
        with django_capture_on_commit_callbacks(execute=True):
            services.authorization_revoke(authorization=Authorization.objects.get(), actor=ACTOR)
        return row

    monkeypatch.setattr(authentication, "live_access_token", read_then_lose_the_race)
    assert _get(client, access).status_code == 200  # the racing request itself
    monkeypatch.setattr(authentication, "live_access_token", original)
    assert _entry(access) is not None  # the stale entry is there...
    assert _get(client, access).status_code == 401  # ...and ignored


def test_revocation_while_redis_is_down_waits_in_the_database(
    client, bobs_token, caplog, django_capture_on_commit_callbacks
):
    access, _ = bobs_token
    checksum = token_format.token_checksum(access)
    with override_settings(CACHES=UNREACHABLE_CACHE):
        assert _get(client, access).status_code == 200  # from the database
        assert not guard.available()
        with django_capture_on_commit_callbacks(execute=True):
            services.authorization_revoke(authorization=Authorization.objects.get(), actor=ACTOR)
        assert _get(client, access).status_code == 401
    assert "wait in the database until Redis answers" in caplog.text
    assert PendingInvalidation.objects.filter(cache="oauth", ident=checksum).exists()
    # Redis is back, with the stale entry: the first lookup replays the pending invalidation.
    guard.reset()
    assert _entry(access) is not None
    assert _get(client, access).status_code == 401
    assert not PendingInvalidation.objects.filter(cache="oauth").exists()
    assert not AccessToken.objects.exists()
