"""The credential lookup sent as a /v2 request comes in (statuspool.api.early_lookup, issue 12).

The warm path's one script is sent by the middleware, before URL resolution and DRF run, and the
authenticator takes its reply: still one round trip, but the worker does not sit idle through it.
It must never change what is counted or who is let in.
"""

import json
import time

import pytest
from django.core.cache import cache, caches

from apikeys.services import apikey_revoke
from audit.services import Actor
from statuspool.api import early_lookup
from statuspool.api.views import ApiView
from statuspool.credcache import prefetch
from statuspool.credcache.cache import TRUST_KEY, GenerationCache
from statuspool.credcache.prefetch import Prefetch
from statuspool.sharedcache import Script, background, redis_of
from tests.api.fixtures import issue_key
from tests.api.ratelimit.conftest import steady_window  # noqa: F401  (a fixture)
from tests.api.ratelimit.test_redis_down import redis_cache_at

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("steady_window", "sender_waits")]


@pytest.fixture(autouse=True)
def _trusted_cache(settings):
    settings.API_AUTH_TRUST_SECONDS = 300
    cache.set(TRUST_KEY, 1, timeout=300)
    # Loaded, so that taking a count back is one EVALSHA like the lookup (not NOSCRIPT + EVAL).
    redis_of(caches["default"]).client.script_load(prefetch._UNCOUNT.source)


@pytest.fixture
def script_calls(monkeypatch):
    """Scripts run the usual way (send, then wait for the reply), by their first line."""
    calls = []
    original = Script.__call__

    def call(self, client, keys, args):
        calls.append(self.source.strip().splitlines()[0])
        return original(self, client, keys, args)

    monkeypatch.setattr(Script, "__call__", call)
    return calls


@pytest.fixture
def lookups_taken(monkeypatch):
    taken = []
    original = Prefetch.lookup

    def lookup(self):
        taken.append(self)
        return original(self)

    monkeypatch.setattr(Prefetch, "lookup", lookup)
    return taken


def _remaining(response) -> int:
    return int(response["X-RateLimit-Remaining"])


def _warm(api, bearer, path="/v2/credential"):
    """A 200, its bookkeeping sent: what comes next starts clean."""
    response = api("GET", path, bearer)
    assert response.status_code == 200
    background.drain()
    return response


def test_the_lookup_leaves_before_the_view_runs_and_authentication_takes_its_reply(
    api, account_a, make_bearer, redis_trips, script_calls, lookups_taken, monkeypatch
):
    bearer = make_bearer(account_a, ["monitors:read"])
    before = _remaining(_warm(api, bearer))
    seen_by_the_view = []
    original = ApiView.initial

    def initial(self, request, *args, **kwargs):
        seen_by_the_view.append([trip[0] for trip in redis_trips])
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(ApiView, "initial", initial)
    redis_trips.clear()
    script_calls.clear()
    lookups_taken.clear()
    response = api("GET", "/v2/credential", bearer)
    assert response.status_code == 200
    assert seen_by_the_view == [["EVALSHA"]]  # on its way before DRF's pipeline started
    assert redis_trips == [["EVALSHA"]]  # and nothing else: authentication took its reply
    assert len(lookups_taken) == 1 and script_calls == []
    assert _remaining(response) == before - 1  # counted once


@pytest.mark.parametrize("refusal", ["406 Accept", "credential in the body"])
def test_a_request_refused_before_authentication_is_not_counted(
    api, account_a, refusal, redis_trips, lookups_taken
):
    _, raw = issue_key(account_a, ["monitors:read", "monitors:write"])
    bearer = f"Bearer {raw}"
    before = _remaining(_warm(api, bearer))
    redis_trips.clear()
    lookups_taken.clear()
    if refusal == "406 Accept":
        refused = api("GET", "/v2/credential", bearer, HTTP_ACCEPT="text/html")
        assert refused.status_code == 406
    else:
        body = {"name": "Leaky", "url": "https://example.com", "api_key": raw}
        refused = api("POST", "/v2/monitors", bearer, json=body)
        assert json.loads(refused.content)["error"]["code"] == "credential_in_body"
    # The lookup went out and counted; nobody took it, so the request was uncounted at its end.
    assert [trip[0] for trip in redis_trips] == ["EVALSHA", "EVALSHA"]
    assert lookups_taken == []
    assert _remaining(_warm(api, bearer)) == before - 1  # only this last request counts


@pytest.mark.parametrize(
    "path, status",
    [
        ("/v2/credential?api_key=whatever", 400),  # refused before authentication
        ("/v2/no-such-endpoint", 404),  # no view to name the scope
    ],
)
def test_no_lookup_is_sent_ahead_for_a_request_authentication_never_sees(
    api, account_a, path, status, monkeypatch
):
    bearer = f"Bearer {issue_key(account_a, ['monitors:read'])[1]}"
    _warm(api, bearer)
    sent = []
    monkeypatch.setattr(
        GenerationCache, "prefetch", lambda self, *args, **kwargs: sent.append(args)
    )
    assert api("GET", path, bearer).status_code == status
    assert sent == []


def test_a_malformed_credential_sends_nothing_and_is_refused(
    api, account_a, redis_trips, lookups_taken
):
    bearer = f"Bearer {issue_key(account_a, ['monitors:read'])[1][:-1]}x"  # checksum broken
    response = api("GET", "/v2/credential", bearer)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert lookups_taken == []


def test_a_lookup_sent_for_another_view_is_not_used_and_nothing_is_counted_twice(
    api, account_a, redis_trips, script_calls, lookups_taken, monkeypatch
):
    """Should the early resolution ever name another view than the one that runs (its scope
    could differ), authentication makes its own lookup and the early one is uncounted."""
    bearer = f"Bearer {issue_key(account_a, ['monitors:read'])[1]}"
    before = _remaining(_warm(api, bearer, "/v2/monitors"))
    other = type("OtherView", (ApiView,), {"required_scopes": {"GET": "monitors:read"}})
    monkeypatch.setattr(early_lookup, "_api_view", lambda urlconf, path: other)
    redis_trips.clear()
    lookups_taken.clear()
    script_calls.clear()
    response = api("GET", "/v2/monitors", bearer)
    assert response.status_code == 200
    assert lookups_taken == []
    assert [call.split()[0] for call in script_calls] == ["if", "--"]  # uncount, its own lookup
    assert _remaining(response) == before - 1
    assert _remaining(_warm(api, bearer, "/v2/monitors")) == before - 2


def test_a_revoked_key_is_refused_on_the_next_request(
    api, account_a, lookups_taken, django_capture_on_commit_callbacks
):
    key, raw = issue_key(account_a, ["monitors:read"])
    bearer = f"Bearer {raw}"
    _warm(api, bearer)
    with django_capture_on_commit_callbacks(execute=True):  # the invalidation, after the commit
        apikey_revoke(key=key, actor=Actor.system("tests"), reason="compromised")
    lookups_taken.clear()
    response = api("GET", "/v2/credential", bearer)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert len(lookups_taken) == 1  # the lookup sent ahead found the entry no longer believed


def test_scope_and_method_refusals_are_not_counted(api, account_a, lookups_taken):
    bearer = f"Bearer {issue_key(account_a, ['alerts:read'])[1]}"
    before = _remaining(_warm(api, bearer))
    lookups_taken.clear()
    assert api("GET", "/v2/monitors", bearer).status_code == 403  # insufficient_scope
    assert api("DELETE", "/v2/credential", bearer).status_code == 405
    assert len(lookups_taken) == 2  # both authenticated from the lookup sent ahead
    assert _remaining(_warm(api, bearer)) == before - 1


def test_a_redis_that_stops_answering_after_the_lookup_left_costs_one_timeout(
    api, account_a, private_redis, settings, lookups_taken
):
    """The lookup went out on a working connection, then Redis stopped (paused): reading its
    reply times out once, the key is authenticated from the database, and the breaker keeps the
    next requests from waiting at all."""
    settings.CACHES = redis_cache_at(private_redis.url())  # socket timeout 0.25 s
    cache.set(TRUST_KEY, 1, timeout=300)
    bearer = f"Bearer {issue_key(account_a, ['monitors:read'])[1]}"
    _warm(api, bearer)
    _warm(api, bearer)  # from the cache, through a lookup sent ahead
    lookups_taken.clear()
    private_redis.pause()
    try:
        started = time.monotonic()
        first = api("GET", "/v2/credential", bearer)
        first_took = time.monotonic() - started
        later = [api("GET", "/v2/credential", bearer) for _ in range(3)]
        all_took = time.monotonic() - started
    finally:
        private_redis.resume()
    assert [r.status_code for r in [first, *later]] == [200] * 4
    assert len(lookups_taken) == 1  # sent, then its reply timed out; later ones sent nothing
    assert 0.2 <= first_took < 1.0 and all_took < 1.2
