"""Rate limits per credential and plan, in the process (any cache: file cache or Redis)."""

import time

import pytest
from django.core.cache import cache, caches
from django.test import RequestFactory

from apikeys.models import ApiKey
from statuspool import sharedcache
from statuspool.api import throttling
from statuspool.api.credentials import Credential, CredentialKind
from statuspool.credcache.script import window_end
from tests.api.ratelimit.conftest import issue_key, rate_headers

# Counting tests must not straddle a window edge.
pytestmark = pytest.mark.usefixtures("steady_window")

SMALL = {"team": {"read": 3, "write": 2}, "enterprise": {"read": 5, "write": 4}}


@pytest.fixture
def small_limits(settings):
    settings.API_RATE_LIMITS = SMALL
    return SMALL


def test_plan_numbers_are_the_documented_ones(settings):
    assert settings.API_RATE_LIMITS == {
        "team": {"read": 600, "write": 120},
        "enterprise": {"read": 2400, "write": 600},
    }


def test_every_response_carries_the_headers_and_counts_down(team_account, call):
    _, bearer = issue_key(team_account)
    before = int(time.time())
    first, second = call("GET", bearer), call("GET", bearer)
    assert first.status_code == second.status_code == 200
    assert rate_headers(first)["X-RateLimit-Limit"] == "600"
    assert rate_headers(first)["X-RateLimit-Remaining"] == "599"
    assert rate_headers(second)["X-RateLimit-Remaining"] == "598"
    assert rate_headers(second)["X-RateLimit-Resource"] == "read"
    reset = int(rate_headers(second)["X-RateLimit-Reset"])
    assert before < reset <= before + 61  # epoch seconds, within the 60-second window


def test_plan_numbers_apply_per_plan_with_real_values(enterprise_account, team_account, call):
    _, enterprise = issue_key(enterprise_account)
    _, team = issue_key(team_account)
    assert rate_headers(call("GET", enterprise))["X-RateLimit-Limit"] == "2400"
    write = call("POST", enterprise, json={})
    assert rate_headers(write)["X-RateLimit-Limit"] == "600"
    assert rate_headers(write)["X-RateLimit-Resource"] == "write"
    assert rate_headers(call("POST", team, json={}))["X-RateLimit-Limit"] == "120"


def test_over_the_limit_is_429_with_retry_after_and_json(team_account, call, small_limits):
    _, bearer = issue_key(team_account)
    statuses = [call("GET", bearer).status_code for _ in range(3)]
    refused = call("GET", bearer)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    retry_after = refused.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    headers = rate_headers(refused)
    assert headers["X-RateLimit-Limit"] == "3"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert abs(int(headers["X-RateLimit-Reset"]) - int(time.time()) - int(retry_after)) <= 1


def test_enterprise_limits_are_its_own(enterprise_account, call, small_limits):
    _, bearer = issue_key(enterprise_account)
    statuses = [call("GET", bearer).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_write_and_read_buckets_are_independent(team_account, call, small_limits):
    _, bearer = issue_key(team_account)
    # Writes count whatever their outcome (here 400: an empty monitor is not valid).
    writes = [call("POST", bearer, json={}) for _ in range(3)]
    assert [w.status_code for w in writes] == [400, 400, 429]
    assert rate_headers(writes[0])["X-RateLimit-Resource"] == "write"
    read = call("GET", bearer)
    assert read.status_code == 200
    assert rate_headers(read)["X-RateLimit-Remaining"] == "2"
    for _ in range(2):
        call("GET", bearer)
    assert call("GET", bearer).status_code == 429
    # ...and the write bucket did not move because of the reads.
    assert (
        rate_headers(call("DELETE", bearer, path="/v2/monitors/999999"))["X-RateLimit-Remaining"]
        == "0"
    )


def test_head_and_options_are_reads(team_account, call, small_limits):
    _, bearer = issue_key(team_account)
    assert rate_headers(call("HEAD", bearer))["X-RateLimit-Resource"] == "read"
    options = call("OPTIONS", bearer)
    assert rate_headers(options)["X-RateLimit-Resource"] == "read"
    assert rate_headers(options)["X-RateLimit-Remaining"] == "1"


def test_a_second_key_has_its_own_counters(team_account, call, small_limits):
    _, first = issue_key(team_account)
    _, second = issue_key(team_account)
    for _ in range(3):
        call("GET", first)
    assert call("GET", first).status_code == 429
    response = call("GET", second)
    assert response.status_code == 200
    assert rate_headers(response)["X-RateLimit-Remaining"] == "2"


def test_request_refused_before_the_throttle_has_headers_but_is_not_counted(
    team_account, call, small_limits
):
    _, bearer = issue_key(team_account, scopes=["monitors:read"])
    call("GET", bearer)
    refused = call("GET", bearer, path="/v2/team/members")  # needs teams:admin
    assert refused.status_code == 403
    assert rate_headers(refused)["X-RateLimit-Remaining"] == "2"
    assert rate_headers(call("GET", bearer))["X-RateLimit-Remaining"] == "1"


def test_not_found_after_authentication_carries_headers(team_account, call):
    _, bearer = issue_key(team_account)
    response = call("GET", bearer, path="/v2/monitors/999999")
    assert response.status_code == 404
    assert rate_headers(response)["X-RateLimit-Limit"] == "600"


def test_unauthenticated_responses_have_no_rate_headers(call):
    response = call("GET", "Bearer sp_live_nope")
    assert response.status_code == 401
    assert response.headers.get("X-RateLimit-Limit") is None


def _credential(kind, ident, identity, plan="team"):
    return Credential(
        kind=kind,
        id=ident,
        account_id=1,
        plan=plan,
        scopes=frozenset({"monitors:read"}),
        rate_limit_identity=identity,
    )


def test_oauth_tokens_of_one_grant_share_a_bucket_and_keys_do_not(small_limits):
    request = RequestFactory().get("/v2/monitors")
    token_1 = _credential(CredentialKind.OAUTH_TOKEN, 11, "oauth:7")
    token_2 = _credential(CredentialKind.OAUTH_TOKEN, 12, "oauth:7")  # refreshed, same grant
    other_grant = _credential(CredentialKind.OAUTH_TOKEN, 13, "oauth:8")
    key_7 = _credential(CredentialKind.API_KEY, 7, "key:7")
    assert throttling.consume(request, token_1).count == 1
    assert throttling.consume(request, token_2).count == 2
    assert throttling.consume(request, other_grant).count == 1
    assert throttling.consume(request, key_7).count == 1


@pytest.mark.redis
def test_the_authentication_script_and_the_throttle_count_one_counter(
    team_account, call, small_limits
):
    """A cold request is counted by the throttle, a warm one by the credential cache's script in
    its authentication round trip: the same counter, window and expiry either way."""
    key, bearer = issue_key(team_account, scopes=["monitors:read"])
    identity = f"key:{key.pk}"
    window = window_end(identity, int(time.time()))
    cold, warm = call("GET", bearer), call("GET", bearer)
    assert [rate_headers(r)["X-RateLimit-Remaining"] for r in (cold, warm)] == ["2", "1"]
    assert rate_headers(warm)["X-RateLimit-Reset"] == str(window)
    request = RequestFactory().get("/v2/monitors")
    credential = _credential(CredentialKind.API_KEY, key.pk, identity)
    state = throttling.consume(request, credential)
    assert (state.count, state.reset, state.shared) == (3, window, True)
    redis = sharedcache.redis_of(caches["default"])
    name = cache.make_key(f"rl:v2:read:{identity}:{window}")
    assert int(redis.client.get(name)) == 3
    assert 55 <= redis.client.ttl(name) <= 61


@pytest.mark.redis
def test_a_warm_request_refused_for_its_scope_or_address_is_not_counted(
    enterprise_account, call, small_limits
):
    _, bearer = issue_key(enterprise_account, scopes=["monitors:read"], networks=["203.0.113.0/24"])
    inside, outside = "203.0.113.9", "198.51.100.10"
    assert call("GET", bearer, ip=inside).status_code == 200  # cold: caches the entry
    assert call("GET", bearer, ip=outside).status_code == 403  # warm, outside the allowlist
    assert call("GET", bearer, ip=inside, path="/v2/team/members").status_code == 403  # scope
    response = call("GET", bearer, ip=inside)
    assert rate_headers(response)["X-RateLimit-Remaining"] == "3"  # 5 - the two 200s


@pytest.mark.redis
def test_counter_script_is_loaded_again_after_redis_forgot_it(small_limits):
    request = RequestFactory().get("/v2/monitors")
    credential = _credential(CredentialKind.API_KEY, 10, "key:10")
    assert throttling.consume(request, credential).count == 1
    sharedcache.redis_of(caches["default"]).client.script_flush()  # as after a Redis restart
    assert throttling.consume(request, credential).count == 2
    assert throttling.consume(request, credential).count == 3
    assert throttling.guard.available()


def test_authenticated_request_makes_no_database_write(
    team_account, call, django_assert_num_queries
):
    """Hot path: once the key's authentication is cached, only the view's own reads remain."""
    _, bearer = issue_key(team_account)
    assert call("GET", bearer).status_code == 200  # fills the authentication cache
    with django_assert_num_queries(1) as captured:
        response = call("GET", bearer)
    assert response.status_code == 200
    assert rate_headers(response)["X-RateLimit-Remaining"] == "598"
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in captured.captured_queries)
    key = ApiKey.objects.get(account=team_account)
    assert key.last_used_at is None  # written later, in bulk, by the usage flush


# --- failed authentication, per client address -----------------------------------------------


@pytest.fixture
def three_failures(settings):
    settings.API_AUTH_FAILURES_PER_MINUTE = 3


def _guess():
    from statuspool import api_key_format

    return f"Bearer {api_key_format.generate()}"  # well formed, checksum right, unknown


def test_failed_authentications_are_limited_per_address(
    team_account, call, three_failures, django_assert_num_queries
):
    _, valid = issue_key(team_account)
    assert [call("GET", _guess(), ip="198.51.100.66").status_code for _ in range(3)] == [401] * 3
    blocked = call("GET", _guess(), ip="198.51.100.66")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 61
    # A malformed value is refused without any lookup.
    with django_assert_num_queries(0):
        assert call("GET", "Bearer sp_live_short", ip="198.51.100.66").status_code == 429
    # Only failures are limited: a valid key from the same address is served (issue 10 item 5).
    assert call("GET", valid, ip="198.51.100.66").status_code == 200
    # Another address is not affected.
    assert call("GET", valid, ip="198.51.100.67").status_code == 200


def test_malformed_and_wrong_scheme_attempts_count_too(call, three_failures):
    call("GET", "Bearer sp_live_short", ip="198.51.100.80")
    call("GET", "Basic dXNlcjpwYXNz", ip="198.51.100.80")
    call("GET", "Bearer something-else", ip="198.51.100.80")
    assert call("GET", "Bearer sp_live_short", ip="198.51.100.80").status_code == 429


def test_ipv6_failures_count_per_64(db, call, three_failures):
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"):
        assert call("GET", _guess(), ip=host).status_code == 401
    assert call("GET", _guess(), ip="2001:db8:1:2::ffff").status_code == 429
    assert call("GET", _guess(), ip="2001:db8:1:3::1").status_code == 401


def test_failures_in_the_last_second_of_a_window_still_block(db, call, three_failures):
    """A window ends at the end of its last second: a block recorded then holds through it
    (it used to lapse at once, one test run in sixty)."""
    import time_machine

    from statuspool.credcache.script import window_edge

    bucket = "2001:db8:1:2::/64"
    now = int(time.time())
    last_second = now - now % 60 + window_edge(bucket) + 60
    with time_machine.travel(last_second, tick=False):
        for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"):
            assert call("GET", _guess(), ip=host).status_code == 401
        refused = call("GET", _guess(), ip="2001:db8:1:2::ffff")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"


def test_successful_authentications_do_not_count(team_account, call, three_failures):
    _, valid = issue_key(team_account)
    for _ in range(5):
        assert call("GET", valid, ip="198.51.100.90").status_code == 200
    assert call("GET", _guess(), ip="198.51.100.90").status_code == 401


def test_clients_without_failures_cost_no_block_check(team_account, call, three_failures):
    """Only addresses this process saw failing are checked against the shared block list."""
    from unittest import mock

    _, valid = issue_key(team_account)
    with mock.patch.object(throttling.cache, "get", wraps=throttling.cache.get) as get:
        assert call("GET", valid, ip="198.51.100.91").status_code == 200
    assert not any(str(c.args[0]).startswith("v2-auth-blocked:") for c in get.call_args_list)


def test_another_process_blocks_an_address_after_seeing_one_failure(call, three_failures, db):
    for _ in range(3):
        call("GET", _guess(), ip="198.51.100.92")
    throttling.suspects.clear()  # a process that has not seen this address fail yet
    assert call("GET", _guess(), ip="198.51.100.92").status_code == 401  # one lookup more
    assert call("GET", _guess(), ip="198.51.100.92").status_code == 429


def test_reset_is_the_window_edge_even_when_the_clock_ticked(monkeypatch):
    """X-RateLimit-Reset is the same for every response of a window."""
    from django_ratelimit.core import _get_window

    identity = "key:4242"
    edge = _get_window(identity, 60)  # the end of this identity's current window
    # get_usage read the clock at edge - 9.1 s (10 s left); ours reads edge - 8.5 s.
    monkeypatch.setattr(throttling.time, "time", lambda: edge - 8.5)
    assert int(edge - 8.5) + 10 == edge + 1  # the naive sum is a second late
    assert throttling._window_end(identity, 10) == edge
    assert throttling._window_end(identity, 9) == edge
