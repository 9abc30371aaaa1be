"""The shared authentication cache: fast on the hot path, never serving a revoked key."""

import pytest
from django.core.cache import cache, caches
from django.test import override_settings
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apikeys import authcache, authentication, services
from apikeys.models import ApiKey, Status
from audit.services import Actor
from statuspool import sharedcache
from statuspool.accounts.team_services import account_set_plan
from statuspool.api.authentication import BearerCredentialAuthentication
from statuspool.credcache.models import PendingInvalidation
from statuspool.crypto import keyed_digest
from statuspool.sharedcache import guard
from tests.api.fixtures import error_code, issue_key


@pytest.fixture(autouse=True)
def _long_lived_trust_marker(settings):
    """Once renewed, the credential cache's trust marker outlives the test however slow the
    machine (statuspool/credcache; its renewal is pinned in test_round_trips)."""
    settings.API_AUTH_TRUST_SECONDS = 300


@pytest.fixture
def key_and_bearer(account_a):
    key, raw = issue_key(account_a, ["monitors:read"])
    return key, f"Bearer {raw}", raw


def test_cache_entry_has_the_digest_but_never_the_key(api, key_and_bearer):
    key, bearer, raw = key_and_bearer
    assert api("GET", "/v2/monitors", bearer).status_code == 200
    entry = authcache.peek(key.public_id)
    pepper_id, digest = keyed_digest(raw)  # the digest under the newest pepper, never the key
    assert entry["id"] == key.pk and (entry["_pepper_id"], entry["_digest"]) == (pepper_id, digest)
    assert raw not in repr(entry) and raw[8:] not in repr(entry)


def test_warm_cache_answers_without_the_database(api, key_and_bearer, django_assert_num_queries):
    key, bearer, _ = key_and_bearer
    api("GET", "/v2/credential", bearer)  # warms the cache (and loads nothing else needed)
    request = Request(APIRequestFactory().get("/v2/monitors", HTTP_AUTHORIZATION=bearer))
    with django_assert_num_queries(0):
        _, credential = BearerCredentialAuthentication().authenticate(request)
    assert credential.id == key.pk and credential.rate_limit_identity == f"key:{key.pk}"


@pytest.mark.parametrize(
    "change, code",
    [
        (
            lambda key, actor: services.apikey_revoke(key=key, actor=actor, reason="test"),
            "invalid_token",
        ),
        (
            lambda key, actor: services.apikey_suspend(key=key, actor=actor, reason="idle"),
            "key_suspended",
        ),
    ],
    ids=["revoke", "suspend"],
)
def test_change_after_a_cached_success_is_seen_on_the_next_request(
    api, key_and_bearer, django_capture_on_commit_callbacks, change, code
):
    key, bearer, _ = key_and_bearer
    assert api("GET", "/v2/monitors", bearer).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        change(key, Actor.system(label="test"))
    response = api("GET", "/v2/monitors", bearer)
    assert response.status_code == 401 and error_code(response) == code


def test_scope_change_is_seen_once_invalidated(
    api, key_and_bearer, django_capture_on_commit_callbacks
):
    key, bearer, _ = key_and_bearer
    assert api("GET", "/v2/monitors", bearer).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        ApiKey.objects.filter(pk=key.pk).update(scopes=["alerts:read"])
        authcache.invalidate_key(key.public_id)
    assert api("GET", "/v2/monitors", bearer).status_code == 403
    assert api("GET", "/v2/alert-rules", bearer).status_code == 200


def test_a_read_from_before_the_revocation_cannot_repopulate_the_cache(
    api, key_and_bearer, monkeypatch, django_capture_on_commit_callbacks
):
    """The race: a request reads the key (active), the revocation commits and invalidates, then
    that request writes its stale "active" entry. The entry must not be believed afterwards."""
    key, bearer, _ = key_and_bearer
    original_load = authentication._load

    def load_then_lose_the_race(public_id, raw):
        entry = original_load(public_id, raw)  # read while the key was still active
        with django_capture_on_commit_callbacks(execute=True):
            services.apikey_revoke(key=key, actor=Actor.system(label="test"), reason="race")
        return entry  # ...and the caller now stores it

    monkeypatch.setattr(authentication, "_load", load_then_lose_the_race)
    assert api("GET", "/v2/monitors", bearer).status_code == 200  # the racing request itself
    monkeypatch.setattr(authentication, "_load", original_load)
    assert authcache.peek(key.public_id) is not None  # the stale entry is there
    assert api("GET", "/v2/monitors", bearer).status_code == 401  # ...and ignored


def test_invalidation_of_an_uncached_key_is_harmless(api, key_and_bearer):
    key, bearer, _ = key_and_bearer
    authcache.invalidate_key(key.public_id)
    assert api("GET", "/v2/monitors", bearer).status_code == 200
    assert api("GET", "/v2/monitors", bearer).status_code == 200


UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }
}


def test_unreachable_cache_falls_back_to_the_database(
    api, key_and_bearer, caplog, django_capture_on_commit_callbacks
):
    key, bearer, _ = key_and_bearer
    with override_settings(CACHES=UNREACHABLE_CACHE):
        assert api("GET", "/v2/monitors", bearer).status_code == 200
        assert not guard.available()  # the next requests skip the cache instead of waiting on it
        with django_capture_on_commit_callbacks(execute=True):
            ApiKey.objects.filter(pk=key.pk).update(status=Status.REVOKED)
            authcache.invalidate_key(key.public_id)  # cannot reach the cache: kept, not raised
        assert api("GET", "/v2/monitors", bearer).status_code == 401
    assert "Shared cache unavailable during API key cache" in caplog.text
    assert "wait in the database until Redis answers" in caplog.text
    # Kept until Redis confirms: the next lookup that reaches Redis replays it.
    assert PendingInvalidation.objects.filter(cache="apikey", ident=key.public_id).exists()


def test_entries_read_in_one_round_trip_are_djangos_own(key_and_bearer):
    """The lookup reads the entries Django's cache API wrote, in its key and value format."""
    key, _, _ = key_and_bearer
    cache.set_many({"a-dict": {"scopes": ["monitors:read"]}, "an-int": 7, "text": "gen"})
    assert sharedcache.get_many(caches["default"], ["a-dict", "an-int", "text", "none"]) == {
        "a-dict": {"scopes": ["monitors:read"]},
        "an-int": 7,
        "text": "gen",
    }
    # The generation is compared as stored: the lookup hands back Redis's own bytes.
    generation_key = cache.make_key(authcache.generation_key(key.public_id))
    entry, generation = authcache.lookup(key.public_id)
    assert entry is None
    assert generation == sharedcache.redis_of(caches["default"]).client.get(generation_key)


def test_cache_is_asked_again_once_the_breaker_closes(
    api, key_and_bearer, django_assert_num_queries
):
    key, bearer, _ = key_and_bearer
    guard.failed(ConnectionError("blip"), "test")
    with django_assert_num_queries(2):  # the key from the database, the page of monitors
        assert api("GET", "/v2/monitors", bearer).status_code == 200
    assert authcache.peek(key.public_id) is None  # nothing cached meanwhile
    guard.reset()
    api("GET", "/v2/monitors", bearer)
    with django_assert_num_queries(1):  # the page of monitors: the key came from the cache
        assert api("GET", "/v2/monitors", bearer).status_code == 200


def test_cache_can_be_turned_off(api, key_and_bearer, settings):
    settings.API_AUTH_CACHE_SECONDS = 0
    key, bearer, _ = key_and_bearer
    assert api("GET", "/v2/monitors", bearer).status_code == 200
    assert authcache.peek(key.public_id) is None
    ApiKey.objects.filter(pk=key.pk).update(status=Status.REVOKED)
    assert api("GET", "/v2/monitors", bearer).status_code == 401


def test_a_plan_change_or_a_rename_reaches_the_next_request(
    api, key_and_bearer, account_a, django_capture_on_commit_callbacks
):
    """The entry carries the account's plan and name (GET /v2/credential makes no query): saving
    either invalidates the account's keys, like any other change to what a key may do."""
    _, bearer, _ = key_and_bearer
    assert api("GET", "/v2/credential", bearer).json()["account"]["plan"] == "team"
    with django_capture_on_commit_callbacks(execute=True):
        account_set_plan(account=account_a, plan="enterprise", actor=Actor.system("tests"))
    body = api("GET", "/v2/credential", bearer).json()
    assert body["account"]["plan"] == "enterprise"
    assert body["rate_limits"]["read"]["limit"] == 2400
    with django_capture_on_commit_callbacks(execute=True):
        account_a.name = "Acme Renamed"
        account_a.save(update_fields=["name"])
    assert api("GET", "/v2/credential", bearer).json()["account"]["name"] == "Acme Renamed"
    with django_capture_on_commit_callbacks(execute=True):
        account_a.billing_email = "billing@renamed.test"
        account_a.save(update_fields=["billing_email"])  # nothing a key carries
    assert not PendingInvalidation.objects.exists()
