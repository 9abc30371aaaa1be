"""The hot path's Redis cost, pinned like its query count (issue 12).

A round trip is one write of commands to a Redis connection (a pipeline or MULTI is one). With a
warm authentication cache a request makes exactly one: the credential cache's script reads the
entry, checks the key's digest and counts the request (statuspool.credcache.script). Its request
log entry and usage record are sent by the process's sender thread, with other requests', off the
request's path (statuspool.sharedcache.BackgroundSender).
"""

import json
import time

import pytest
from django.core.cache import cache

from statuspool.credcache.cache import TRUST_KEY
from statuspool.monitoring.models import Monitor
from statuspool.sharedcache import background
from tests.api.fixtures import issue_key
from tests.oauthapps.helpers import oauth_bearer
from usage import lastused, requestlog

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def _trusted_cache(settings):
    """The credential cache's trust marker is cluster-wide and renewed once per
    API_AUTH_TRUST_SECONDS by one process: present for these requests (its renewal is pinned
    separately below). A long life keeps a slow machine from renewing it mid-test."""
    settings.API_AUTH_TRUST_SECONDS = 300
    cache.set(TRUST_KEY, 1, timeout=300)


@pytest.fixture
def bearer(account_a):
    _, raw = issue_key(account_a, ["monitors:read"])
    Monitor.objects.bulk_create(
        Monitor(account=account_a, name=f"Monitor {n}", url=f"https://m{n}.test") for n in range(3)
    )
    return f"Bearer {raw}"


@pytest.fixture(autouse=True)
def request_log():
    """The shared request-log list, empty; and no usage recorded lately by this process."""
    lastused.recently_recorded.clear()
    client = requestlog._redis()
    client.delete(requestlog.REDIS_LIST)
    yield client
    client.delete(requestlog.REDIS_LIST)


def _get(api, bearer, path="/v2/monitors"):
    response = api("GET", path, bearer, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 200
    return response


def _warm(api, bearer):
    """One request to fill the cache, its bookkeeping sent: the next request starts clean."""
    _get(api, bearer)
    background.drain()


def test_warm_request_makes_one_round_trip(api, bearer, redis_trips, django_assert_num_queries):
    _warm(api, bearer)
    redis_trips.clear()
    with django_assert_num_queries(1):  # the page of monitors
        response = _get(api, bearer)
    assert response["X-RateLimit-Remaining"] == "598"
    assert redis_trips == [["EVALSHA"]]  # authentication, digest check and rate-limit count


@pytest.mark.parametrize("kind", ["api_key", "oauth_token"])
def test_warm_credential_request_makes_no_query_and_one_round_trip(
    api, account_a, kind, redis_trips, django_assert_num_queries
):
    if kind == "api_key":
        bearer = f"Bearer {issue_key(account_a, ['monitors:read'])[1]}"
    else:
        bearer = oauth_bearer(account_a, ["monitors:read"])
    _warm(api, bearer)
    redis_trips.clear()
    with django_assert_num_queries(0):
        body = _get(api, bearer, "/v2/credential").json()
    assert redis_trips == [["EVALSHA"]]  # authentication and the rate-limit count, one script
    assert body["type"] == kind
    assert body["account"] == {"id": account_a.pk, "name": account_a.name, "plan": account_a.plan}
    assert _get(api, bearer, "/v2/credential")["X-RateLimit-Remaining"] == "597"


def test_bookkeeping_of_many_requests_goes_in_one_round_trip(
    api, bearer, redis_trips, request_log, sender_waits
):
    _warm(api, bearer)
    request_log.delete(requestlog.REDIS_LIST)
    redis_trips.clear()
    for _ in range(5):
        _get(api, bearer)
    assert redis_trips == [["EVALSHA"]] * 5  # nothing of the bookkeeping on the requests' path
    redis_trips.clear()
    background.drain()
    # One round trip, and one RPUSH carrying the five entries in the order they were served.
    assert [trip.count("RPUSH") for trip in redis_trips] == [1]
    entries = [json.loads(line) for line in request_log.lrange(requestlog.REDIS_LIST, 0, -1)]
    assert len(entries) == 5 and len({entry["u"] for entry in entries}) == 5
    assert [entry["t"] for entry in entries] == sorted(entry["t"] for entry in entries)


def test_the_sender_thread_sends_without_being_asked(api, bearer, request_log):
    _warm(api, bearer)
    request_log.delete(requestlog.REDIS_LIST)
    _get(api, bearer)
    deadline = time.monotonic() + 5
    while request_log.llen(requestlog.REDIS_LIST) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert request_log.llen(requestlog.REDIS_LIST) == 1


def test_cold_request_makes_three(api, bearer, redis_trips):
    cache.set(TRUST_KEY, 1, timeout=300)  # also the connection's handshake, not the request's
    redis_trips.clear()
    _get(api, bearer)
    # The script finds nothing (and gives the key its first generation); the entry is stored
    # under that generation; the throttle counts the request itself.
    assert redis_trips == [["EVALSHA"], ["MULTI", "DEL", "HSET", "EXPIRE", "EXEC"], ["EVALSHA"]]


def test_renewing_the_trust_marker_costs_a_few_round_trips_once_per_interval(
    api, bearer, redis_trips
):
    _warm(api, bearer)
    cache.delete(TRUST_KEY)
    redis_trips.clear()
    _get(api, bearer)
    # The script finds no marker: under a short lock (SET NX … DEL), nothing pending in the
    # database, marker set; this request reads its key from the database and caches it again.
    assert [trip[0] for trip in redis_trips] == ["EVALSHA", "SET", "SET", "DEL", "MULTI", "EVALSHA"]
    redis_trips.clear()
    _get(api, bearer)
    assert redis_trips == [["EVALSHA"]]


def test_usage_due_again_joins_the_request_log_round_trip(api, bearer, redis_trips, request_log):
    _warm(api, bearer)
    lastused.buffer.take()
    lastused.recently_recorded.clear()  # the interval has passed
    redis_trips.clear()
    _get(api, bearer)
    background.drain()
    assert [trip[0] for trip in redis_trips] == ["EVALSHA", "MULTI"]
    assert "RPUSH" in redis_trips[1] and "HSET" in redis_trips[1]
    assert request_log.llen(requestlog.REDIS_LIST) == 2  # both requests' entries
    assert [record.ip for record in lastused.buffer.take()] == ["198.51.100.20"]
