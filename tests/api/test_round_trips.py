"""The hot path's Redis cost, pinned like its query count: round trips of one GET /v2/monitors.

A round trip is one write of commands to a Redis connection (a pipeline or MULTI is one). With a
warm authentication cache: the auth entry and its generation (MGET), the rate-limit counter (one
Lua call) and the request log (RPUSH; the usage buffer's MULTI joins it when it is due).
"""

import pytest
import redis.connection
from django.core.cache import cache

from statuspool.credcache.cache import TRUST_KEY
from statuspool.monitoring.models import Monitor
from tests.api.fixtures import issue_key
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
def sent(monkeypatch):
    """The commands of each round trip to Redis, as lists of command names."""
    trips: list[list[str]] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(self, command, check_health=True):
        chunks = command if isinstance(command, list) else [command]
        packed = b"".join(bytes(chunk) for chunk in chunks)
        # RESP arrays: "*<n>\r\n$<len>\r\n<NAME>\r\n…": the name follows each array header.
        names = [
            part.split(b"\r\n")[2].decode() for part in packed.split(b"*")[1:] if b"\r\n$" in part
        ]
        trips.append(names)
        return original(self, command, check_health)

    monkeypatch.setattr(
        redis.connection.AbstractConnection, "send_packed_command", send_packed_command
    )
    return trips


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


def _get(api, bearer):
    response = api("GET", "/v2/monitors", bearer, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 200
    return response


def test_warm_request_makes_three_round_trips(api, bearer, sent, django_assert_num_queries):
    _get(api, bearer)  # warms the authentication cache and records usage for this address
    sent.clear()
    with django_assert_num_queries(1):  # the page of monitors
        response = _get(api, bearer)
    assert response["X-RateLimit-Remaining"] == "598"
    assert sent == [["MGET"], ["EVALSHA"], ["RPUSH"]]


def test_cold_request_makes_five(api, bearer, sent):
    cache.set(TRUST_KEY, 1, timeout=300)  # also the connection's handshake, not the request's
    sent.clear()
    _get(api, bearer)
    assert [trip[0] for trip in sent] == ["MGET", "SET", "SET", "EVALSHA", "MULTI"]
    assert sent[1][0] == sent[2][0] == "SET"  # the new generation (NX), then the entry
    # The request log's entry and the usage buffer's record travel together, in one MULTI.
    assert sent[4][:2] == ["MULTI", "RPUSH"] and "HSET" in sent[4] and sent[4][-1] == "EXEC"


def test_renewing_the_trust_marker_costs_four_round_trips_once_per_interval(api, bearer, sent):
    _get(api, bearer)
    cache.delete(TRUST_KEY)
    sent.clear()
    _get(api, bearer)
    # The lookup finds no marker: under a short lock (SET NX … DEL), nothing pending in the
    # database, marker set; this request reads its key from the database and caches it again.
    assert [trip[0] for trip in sent] == ["MGET", "SET", "SET", "DEL", "SET", "EVALSHA", "RPUSH"]
    sent.clear()
    _get(api, bearer)
    assert [trip[0] for trip in sent] == ["MGET", "EVALSHA", "RPUSH"]


def test_usage_due_again_joins_the_request_log_round_trip(api, bearer, sent, request_log):
    _get(api, bearer)
    lastused.buffer.take()
    lastused.recently_recorded.clear()  # the interval has passed
    sent.clear()
    _get(api, bearer)
    assert [trip[0] for trip in sent] == ["MGET", "EVALSHA", "MULTI"]
    assert request_log.llen(requestlog.REDIS_LIST) == 2  # both requests' entries
    assert [record.ip for record in lastused.buffer.take()] == ["198.51.100.20"]
