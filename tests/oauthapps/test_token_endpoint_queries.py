"""/oauth/token's database cost, pinned (issue 12): every statement counts, savepoints included.

The test's own transaction turns the view's transaction into a savepoint pair, which stands for
the BEGIN/COMMIT round trips a server pays. Authorization code: the client, the code's row
(locked, with its grant, user and the user's role), then one statement for the two tokens and the
code marked redeemed. Refresh: the client, the presented token with its grant (both locked, the
grant first), one statement for the rotation's four writes, the old access token's cache
invalidation, and once that commits, its pending row deleted. Before: 15 and 25 statements.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oauthapps.models import AccessToken, Grant, RefreshToken
from tests.conftest import login
from tests.oauthapps.helpers import (
    REDIRECT_URI,
    exchange_code,
    obtain_code,
    refresh,
    token_request,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]  # the one-statement rotation is SQL


def _reads_of(table, queries):
    return [q["sql"] for q in queries if q["sql"].startswith(f'SELECT "{table}".')]


@pytest.fixture
def code(client, alice, app, account_a):
    login(client, alice)
    found = obtain_code(client, app, account=account_a)
    client.logout()
    return found


def test_authorization_code_exchange_is_five_statements(
    client, app, secret, code, django_capture_on_commit_callbacks
):
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True) as after_commit:
            response = exchange_code(client, app, secret, *code)
    assert not after_commit  # nothing to invalidate: new tokens were never cached
    assert response.status_code == 200, response.content
    statements = [q["sql"].split(" ", 1)[0] for q in queries]
    assert statements == ["SAVEPOINT", "SELECT", "SELECT", "WITH", "RELEASE"], statements
    assert len(_reads_of("oauthapps_grant", queries)) == 1  # was read five times
    assert 'FOR UPDATE OF "oauthapps_grant"' in _reads_of("oauthapps_grant", queries)[0]
    assert len(_reads_of("oauthapps_application", queries)) == 1
    # What the one statement did: the pair issued and linked, the code redeemed by its family.
    grant = Grant.objects.get()
    refresh_token = RefreshToken.objects.get()
    assert grant.redeemed_at is not None and grant.token_family == refresh_token.token_family
    assert refresh_token.access_token == AccessToken.objects.get()
    assert refresh_token.access_token.authorization_id == grant.authorization_id


def test_refresh_is_seven_statements(client, app, secret, code, django_capture_on_commit_callbacks):
    """Six in the request's transaction; after it commits, the cache invalidation of the old
    access token reaches Redis and its pending row is deleted (statuspool.credcache): one more."""
    tokens = exchange_code(client, app, secret, *code).json()
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True):
            response = refresh(client, app, secret, tokens["refresh_token"])
    assert response.status_code == 200, response.content
    statements = [q["sql"].split(" ", 1)[0] for q in queries]
    assert statements == [
        "SAVEPOINT", "SELECT", "SELECT", "WITH", "INSERT", "RELEASE", "DELETE",
    ], statements  # fmt: skip
    (read,) = _reads_of("oauthapps_refreshtoken", queries)
    # The grant's lock first, as every revocation takes them (PostgreSQL follows this order).
    assert read.endswith('FOR UPDATE OF "oauthapps_authorization", "oauthapps_refreshtoken"')
    assert "credcache_pendinginvalidation" in queries[4]["sql"]  # the old access token's entry
    # What the one statement did: the old pair spent, the new pair issued and linked.
    body = response.json()
    old = RefreshToken.objects.get(revoked__isnull=False)
    new = RefreshToken.objects.get(revoked__isnull=True)
    assert old.access_token is None and old.family_created_at == new.family_created_at
    assert new.token_family == old.token_family and new.access_token.source_refresh_token == old
    assert AccessToken.objects.get() == new.access_token
    assert new.access_token.token_checksum != old.token_checksum
    assert body["scope"] == new.access_token.scope == "monitors:read alerts:read"


def test_a_second_refresh_chains_on_the_first(client, app, secret, code):
    """The rotated pair is itself rotated like any other (ids and links the statement returned)."""
    tokens = exchange_code(client, app, secret, *code).json()
    for _ in range(3):
        response = refresh(client, app, secret, tokens["refresh_token"])
        assert response.status_code == 200, response.content
        tokens = response.json()
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 1
    assert AccessToken.objects.count() == 1


@pytest.mark.parametrize(
    "resource, status",
    [("not a uri", 400), ("https://api.example.test/v2", 200)],
    ids=["invalid", "absolute"],
)
def test_resource_indicators_still_checked_against_the_read_grant(
    client, app, secret, code, resource, status
):
    """RFC 8707 as DOT checks it, from the grant validate_code read instead of a fifth read."""
    authorization_code, verifier = code
    response = token_request(
        client,
        app,
        secret,
        grant_type="authorization_code",
        code=authorization_code,
        code_verifier=verifier,
        redirect_uri=REDIRECT_URI,
        resource=resource,
    )
    assert response.status_code == status, response.content
    if status == 200:
        assert AccessToken.objects.get().resource == [resource]
    else:
        assert json.loads(response.content)["error"] == "invalid_target"
        assert not AccessToken.objects.exists()
