"""OAuth tokens are cached like API keys, so the same promise holds (tests/apikeys/
test_revocation_outage.py): a grant revoked, or a role changed, while Redis is restarting or
paused is never lost: the first request after Redis answers again is refused (or gets the new
scopes), in every process.

Real processes: a private Redis with its append-only file (a restart brings the stale cache
entries back), a private PostgreSQL, two gunicorn instances whose caches are warm before the
outage. The changes are made by this test's process, which cannot reach Redis.
"""

import time

import pytest
import requests

from audit.services import Actor
from oauthapps import token_format
from oauthapps.models import Authorization
from oauthapps.services import authorization_revoke
from statuspool.accounts.models import Account, Membership, User
from statuspool.credcache.models import PendingInvalidation
from statuspool.sharedcache import guard
from tests.oauthapps.helpers import issue_tokens, register_app
from tests.processes import Gunicorn, on_private_stack, subprocess_env

pytestmark = [pytest.mark.postgres]

OUTAGE_SECONDS = 1.5  # longer than API_AUTH_TRUST_SECONDS (1 s), shorter than any restart we know


def _status(server, raw, path="/v2/monitors"):
    return requests.get(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {raw}"}, timeout=30
    ).status_code


def _statuses(servers, raw, path="/v2/monitors"):
    return [_status(server, raw, path) for server in servers]


@pytest.mark.django_db(transaction=True)
def test_oauth_changes_during_a_redis_restart_or_pause_are_seen_by_every_process(
    private_postgres, private_redis, tmp_path
):
    actor = Actor.system("tests")
    scopes = ["monitors:read", "teams:admin"]
    with on_private_stack(private_postgres, private_redis):
        account = Account.objects.create(name=f"Outage {time.monotonic_ns()}", plan="enterprise")
        app, _ = register_app(account, name="Outage client")
        tokens, members = {}, {}
        for name in ("revoked", "demoted", "untouched"):
            user = User.objects.create_user(f"{name}-{time.monotonic_ns()}@example.test", "x" * 20)
            members[name] = Membership.objects.create(user=user, account=account, role="admin")
            tokens[name], _ = issue_tokens(app, user, account, scopes)
    checksums = [token_format.token_checksum(raw) for raw in tokens.values()]
    env = subprocess_env(
        database_url=private_postgres.url(), redis_url=private_redis.url(),
        API_AUTH_CACHE_SECONDS=60,
    )  # fmt: skip
    servers = Gunicorn.start_many(2, env, workers=1, threads=2, log_dir=tmp_path)
    try:
        for raw in tokens.values():  # every process has every token cached with both scopes
            assert _statuses(servers, raw, "/v2/team/members") == [200, 200]

        # Restart: down while the grant is revoked, back with its append-only file.
        private_redis.stop()
        with on_private_stack(private_postgres, private_redis):
            revoked = Authorization.objects.get(account=account, user=members["revoked"].user)
            authorization_revoke(authorization=revoked, actor=actor)
            assert PendingInvalidation.objects.filter(ident__in=checksums).exists()
        time.sleep(OUTAGE_SECONDS)
        private_redis.start()
        assert _statuses(servers, tokens["revoked"]) == [401, 401]
        assert _statuses(servers, tokens["untouched"]) == [200, 200]

        # Pause: Redis accepts connections but answers nothing while the role changes.
        guard.reset()
        private_redis.pause()
        try:
            with on_private_stack(private_postgres, private_redis):
                members["demoted"].role = "member"  # saved directly: the grant stays, scopes shrink
                members["demoted"].save()
            time.sleep(OUTAGE_SECONDS)
        finally:
            private_redis.resume()
        assert _statuses(servers, tokens["demoted"], "/v2/team/members") == [403, 403]
        assert _statuses(servers, tokens["demoted"]) == [200, 200]
        assert _statuses(servers, tokens["untouched"], "/v2/team/members") == [200, 200]
        # Replayed, then confirmed by Redis. A Redis slow to answer just after the outage may make
        # the first replay fail (refused meanwhile, read from the database, as above); a later
        # request replays again once the replay lock (10 s) and the breaker (5 s) let it.
        deadline = time.monotonic() + 30
        with on_private_stack(private_postgres):
            pending = PendingInvalidation.objects.filter(ident__in=checksums)
            while pending.exists() and time.monotonic() < deadline:
                time.sleep(1)
                assert _statuses(servers, tokens["demoted"], "/v2/team/members") == [403, 403]
            assert not pending.exists()
    finally:
        for server in servers:
            server.stop()
        guard.reset()


@pytest.mark.django_db(transaction=True)
def test_oauth_changes_reach_every_process_while_the_cache_is_trusted(
    private_postgres, private_redis, tmp_path
):
    """Redis up and the trust marker long-lived: only the invalidation stops the cached entries
    (without it both processes would serve the old answer for API_AUTH_CACHE_SECONDS)."""
    from statuspool.accounts.team_services import account_set_plan

    actor = Actor.system("tests")
    with on_private_stack(private_postgres, private_redis):
        account = Account.objects.create(name=f"Trusted {time.monotonic_ns()}", plan="team")
        app, _ = register_app(account, name="Trusted client")
        tokens, members = {}, {}
        for name in ("revoked", "demoted", "deactivated"):
            user = User.objects.create_user(f"{name}-{time.monotonic_ns()}@example.test", "x" * 20)
            members[name] = Membership.objects.create(user=user, account=account, role="admin")
            tokens[name], _ = issue_tokens(app, user, account, ["monitors:read", "teams:admin"])
    env = subprocess_env(
        database_url=private_postgres.url(), redis_url=private_redis.url(),
        API_AUTH_CACHE_SECONDS=300, API_AUTH_TRUST_SECONDS=300,
    )  # fmt: skip
    servers = Gunicorn.start_many(2, env, workers=1, threads=2, log_dir=tmp_path)
    try:
        for raw in tokens.values():
            assert _statuses(servers, raw, "/v2/team/members") == [200, 200]
        credential = requests.get(
            f"{servers[0].url}/v2/credential",
            headers={"Authorization": f"Bearer {tokens['demoted']}"},
            timeout=30,
        ).json()
        assert credential["account"]["plan"] == "team"
        with on_private_stack(private_postgres, private_redis):
            revoked = Authorization.objects.get(account=account, user=members["revoked"].user)
            authorization_revoke(authorization=revoked, actor=actor)
            members["demoted"].role = "member"
            members["demoted"].save()
            deactivated = members["deactivated"].user
            deactivated.is_active = False
            deactivated.save()
            account_set_plan(account=account, plan="enterprise", actor=actor)
        assert _statuses(servers, tokens["revoked"]) == [401, 401]
        assert _statuses(servers, tokens["demoted"], "/v2/team/members") == [403, 403]
        assert _statuses(servers, tokens["deactivated"]) == [401, 401]
        for server in servers:
            credential = requests.get(
                f"{server.url}/v2/credential",
                headers={"Authorization": f"Bearer {tokens['demoted']}"},
                timeout=30,
            ).json()
            assert credential["account"]["plan"] == "enterprise"
    finally:
        for server in servers:
            server.stop()
