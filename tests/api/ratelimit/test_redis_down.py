"""Redis unreachable or hanging: valid credentials are still served, revocation still holds, the
outage is logged once per interval and costs one timeout per retry interval, not one per request."""

import logging
import socket
import time

import pytest
import redis.connection
from django.test import override_settings

from apikeys import authcache
from apikeys.models import ApiKey, Status
from statuspool import sharedcache
from statuspool.api import throttling
from tests.api.ratelimit.conftest import issue_key, rate_headers

# Counting tests must not straddle a window edge.
pytestmark = pytest.mark.usefixtures("steady_window")


def redis_cache_at(location):
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": "sp",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }


DEAD_REDIS = redis_cache_at("redis://127.0.0.1:1/0")


@pytest.fixture
def hanging_redis():
    """A port that accepts connections and never answers: every command times out."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    yield redis_cache_at(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
    listener.close()


@pytest.fixture(params=["dead", "hanging"])
def broken_redis(request):
    """CACHES for a Redis that refuses connections, then for one that never answers."""
    return DEAD_REDIS if request.param == "dead" else request.getfixturevalue("hanging_redis")


@pytest.fixture
def connection_attempts(monkeypatch):
    """How many times redis-py opened a connection (each one costs a timeout when Redis hangs)."""
    attempts = []
    original = redis.connection.AbstractConnection.connect

    def connect(self):
        attempts.append(self)
        return original(self)

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", connect)
    return attempts


def _errors(caplog):
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_dead_redis_still_serves_with_headers(team_account, call, caplog):
    _, bearer = issue_key(team_account)
    with override_settings(CACHES=DEAD_REDIS):
        responses = [call("GET", bearer) for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4
    remaining = [rate_headers(r)["X-RateLimit-Remaining"] for r in responses]
    assert remaining == ["599", "598", "597", "596"]  # counted by this process meanwhile
    assert all(rate_headers(r)["X-RateLimit-Reset"].isdigit() for r in responses)
    assert not throttling.guard.available()


def test_outage_is_logged_once_per_interval_not_per_request(team_account, call, caplog, settings):
    settings.API_CACHE_RETRY_SECONDS = 0  # ask Redis again on every request: it fails each time
    _, bearer = issue_key(team_account)
    with override_settings(CACHES=DEAD_REDIS), caplog.at_level(logging.ERROR):
        statuses = [call("GET", bearer).status_code for _ in range(6)]
    assert statuses == [200] * 6
    errors = _errors(caplog)
    assert len(errors) == 1  # nothing else either: not the API key cache, not the request log
    assert errors[0].name == sharedcache.logger.name
    assert "Shared cache unavailable" in errors[0].getMessage()


def test_fallback_limiter_still_limits(team_account, call, settings):
    settings.API_RATE_LIMITS = {
        "team": {"read": 2, "write": 1},
        "enterprise": {"read": 4, "write": 2},
    }
    _, bearer = issue_key(team_account)
    with override_settings(CACHES=DEAD_REDIS):
        statuses = [call("GET", bearer).status_code for _ in range(3)]
        refused = call("GET", bearer)
    assert statuses == [200, 200, 429]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"


def test_revoked_key_is_refused_while_redis_is_down(team_account, call, broken_redis):
    key, bearer = issue_key(team_account)
    assert call("GET", bearer).status_code == 200  # cached as valid while Redis was fine
    assert authcache.lookup(key.public_id)[0] is not None
    ApiKey.objects.filter(pk=key.pk).update(status=Status.REVOKED)
    with override_settings(CACHES=broken_redis):
        refused = call("GET", bearer)  # the cache fails: the database says revoked
        again = call("GET", bearer)  # the cache is skipped: the database says revoked
    assert refused.status_code == again.status_code == 401
    assert refused.json()["error"]["code"] == again.json()["error"]["code"] == "invalid_token"


def test_broken_redis_costs_one_attempt_per_retry_interval_and_one_log_line(
    team_account, call, broken_redis, caplog, connection_attempts, django_assert_num_queries
):
    """The first request finds Redis broken; the next ones skip it (authentication included:
    from the database, one query more) instead of each waiting for its own timeouts."""
    key, bearer = issue_key(team_account)
    with override_settings(CACHES=broken_redis), caplog.at_level(logging.ERROR):
        started = time.monotonic()
        first = call("GET", bearer)
        first_took = time.monotonic() - started
        attempts_of_first = len(connection_attempts)
        started = time.monotonic()
        with django_assert_num_queries(2 * 5):  # per request: the key, the page of monitors
            later = [call("GET", bearer) for _ in range(5)]
        later_took = time.monotonic() - started
        revoked = ApiKey.objects.filter(pk=key.pk).update(status=Status.REVOKED)
        refused = call("GET", bearer)
    assert first.status_code == 200 and [r.status_code for r in later] == [200] * 5
    assert revoked == 1 and refused.status_code == 401
    assert attempts_of_first == 1  # one command failed, the breaker opened
    assert len(connection_attempts) == 1  # and nothing asked the broken Redis again
    assert first_took < 1.0  # at most one 0.25 s timeout
    assert later_took < 1.0  # no timeout at all
    errors = _errors(caplog)
    assert len(errors) == 1
    assert errors[0].getMessage().startswith("Shared cache unavailable during API key cache")


def test_failed_authentications_are_still_limited(db, call, settings):
    settings.API_AUTH_FAILURES_PER_MINUTE = 2
    from statuspool import api_key_format

    with override_settings(CACHES=DEAD_REDIS):
        statuses = [
            call("GET", f"Bearer {api_key_format.generate()}", ip="198.51.100.5").status_code
            for _ in range(3)
        ]
    assert statuses == [401, 401, 429]


def test_hanging_redis_times_out_and_serves(team_account, call, hanging_redis):
    _, bearer = issue_key(team_account)
    started = time.monotonic()
    with override_settings(CACHES=hanging_redis):
        responses = [call("GET", bearer) for _ in range(3)]
    assert [r.status_code for r in responses] == [200] * 3
    assert all(rate_headers(r)["X-RateLimit-Limit"] == "600" for r in responses)
    # One timeout of 0.25 s opens the breaker; nothing waits on Redis again.
    assert time.monotonic() - started < 2
