"""A revocation, suspension or scope change made while Redis is down, restarting or paused is never
lost: the first request after Redis answers again is refused, in every process (issue 11, item 2).

Real processes: a private Redis with its append-only file (as docker-compose runs it, so a restart
brings the stale cache entries back), a private PostgreSQL, two gunicorn instances whose caches
are warm before the outage. The change is made by this test's process, which cannot reach Redis.
"""

import time

import pytest
import requests

from apikeys.services import apikey_create, apikey_revoke, apikey_suspend, apikey_update_scopes
from audit.services import Actor
from statuspool.accounts.models import Account
from statuspool.credcache.models import PendingInvalidation
from statuspool.sharedcache import guard
from tests.processes import Gunicorn, on_private_stack, subprocess_env

pytestmark = [pytest.mark.postgres]

OUTAGE_SECONDS = 1.5  # longer than API_AUTH_TRUST_SECONDS (1 s), shorter than any restart we know


def _status(server, raw, path="/v2/monitors"):
    return requests.get(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {raw}"}, timeout=30
    ).status_code


@pytest.mark.django_db(transaction=True)
def test_changes_during_a_redis_restart_or_pause_are_seen_by_every_process(
    private_postgres, private_redis, tmp_path
):
    actor = Actor.system("tests")
    with on_private_stack(private_postgres, private_redis):
        account = Account.objects.create(name=f"Outage {time.monotonic_ns()}", plan="enterprise")
        keys = {
            name: apikey_create(
                account=account, name=name, scopes=["monitors:read", "alerts:read"], actor=actor
            )
            for name in ("revoked", "suspended", "narrowed", "untouched")
        }
    env = subprocess_env(
        database_url=private_postgres.url(), redis_url=private_redis.url(),
        STATUSPOOL_VAR_DIR=tmp_path / "var", API_AUTH_CACHE_SECONDS=60,
        API_CACHE_RETRY_SECONDS=1,
    )  # fmt: skip
    servers = Gunicorn.start_many(2, env, workers=1, threads=2, log_dir=tmp_path)
    try:
        for server in servers:  # every process has every key cached as active
            for _, raw in keys.values():
                assert _status(server, raw) == 200

        # Restart: down while the key is revoked, back with its append-only file.
        private_redis.stop()
        with on_private_stack(private_postgres, private_redis):
            apikey_revoke(key=keys["revoked"][0], actor=actor, reason="compromised")
            assert PendingInvalidation.objects.filter(ident=keys["revoked"][0].public_id).exists()
        time.sleep(OUTAGE_SECONDS)
        private_redis.start()
        assert [_status(server, keys["revoked"][1]) for server in servers] == [401, 401]
        assert [_status(server, keys["untouched"][1]) for server in servers] == [200, 200]

        # Pause: Redis accepts connections but answers nothing while the others change.
        guard.reset()
        private_redis.pause()
        try:
            with on_private_stack(private_postgres, private_redis):
                apikey_suspend(key=keys["suspended"][0], actor=actor, reason="idle")
                apikey_update_scopes(key=keys["narrowed"][0], scopes=["alerts:read"], actor=actor)
            time.sleep(OUTAGE_SECONDS)
        finally:
            private_redis.resume()
        assert [_status(server, keys["suspended"][1]) for server in servers] == [401, 401]
        assert [_status(server, keys["narrowed"][1]) for server in servers] == [403, 403]
        assert [_status(server, keys["narrowed"][1], "/v2/alert-rules") for server in servers] == [
            200,
            200,
        ]
        assert [_status(server, keys["untouched"][1]) for server in servers] == [200, 200]
        # Each server's sender thread met the paused Redis too (the requests' bookkeeping), so
        # each stopped asking Redis for API_CACHE_RETRY_SECONDS and read the database meanwhile;
        # its first request afterwards replays what is pending before believing the cache.
        time.sleep(1.2)
        assert [_status(server, keys["untouched"][1]) for server in servers] == [200, 200]
    finally:
        for server in servers:
            server.stop()
        guard.reset()
    with on_private_stack(private_postgres):
        assert not PendingInvalidation.objects.exists()  # replayed, then confirmed by Redis
