"""A believed cache entry is turned into its Credential once per process (issue 12), and that
never lets a changed or expired credential through (statuspool.credcache.prepared)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import authcache, authentication, services
from apikeys.models import ApiKey
from audit.services import Actor
from statuspool.credcache.prepared import Prepared
from statuspool.credcache.script import Lookup
from tests.api.fixtures import error_code, issue_key

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def _long_lived_trust_marker(settings):
    settings.API_AUTH_TRUST_SECONDS = 300


def test_made_once_per_payload_and_bounded():
    made = []
    prepared = Prepared(lambda entry: made.append(entry) or ("made", entry["n"]), size=2)
    one, two, three = (Lookup(payload=b'{"n": %d}' % n) for n in (1, 2, 3))
    assert prepared(one) == prepared(Lookup(payload=b'{"n": 1}')) == ("made", 1)
    assert made == [{"n": 1}]
    assert prepared(two) == ("made", 2) and len(prepared) == 2
    assert prepared(three) == ("made", 3) and len(prepared) == 1  # past the bound: started over
    # An entry from a cache that keeps dicts has no payload to name it: prepared every time.
    prepared(Lookup(cached={"n": 4}))
    prepared(Lookup(cached={"n": 4}))
    assert made[-2:] == [{"n": 4}, {"n": 4}]


@pytest.fixture
def warm(api, account_a, monkeypatch):
    """A key whose entry is cached and already prepared, and a counter of new preparations."""
    key, raw = issue_key(account_a, ["monitors:read"])
    bearer = f"Bearer {raw}"
    for _ in range(2):  # the first reads the database, the second prepares the cached entry
        assert api("GET", "/v2/monitors", bearer).status_code == 200
    calls = []
    original = authentication._prepare
    monkeypatch.setattr(
        authentication._prepared, "_prepare", lambda entry: calls.append(1) or original(entry)
    )
    return key, bearer, calls


def test_a_warm_request_reuses_the_prepared_credential(api, warm):
    _, bearer, calls = warm
    assert api("GET", "/v2/monitors", bearer).status_code == 200
    assert calls == []


def test_revocation_and_a_scope_change_still_reach_the_next_request(
    api, warm, django_capture_on_commit_callbacks
):
    key, bearer, calls = warm
    with django_capture_on_commit_callbacks(execute=True):
        ApiKey.objects.filter(pk=key.pk).update(scopes=["alerts:read"])
        authcache.invalidate_key(key.public_id)
    assert api("GET", "/v2/monitors", bearer).status_code == 403
    assert api("GET", "/v2/alert-rules", bearer).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.apikey_revoke(key=key, actor=Actor.system(label="test"), reason="test")
    response = api("GET", "/v2/alert-rules", bearer)
    assert response.status_code == 401 and error_code(response) == "invalid_token"


def test_the_clock_decides_expiry_on_every_request(
    api, warm, monkeypatch, django_capture_on_commit_callbacks
):
    key, bearer, _ = warm
    with django_capture_on_commit_callbacks(execute=True):
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() + timedelta(hours=1))
        authcache.invalidate_key(key.public_id)
    assert api("GET", "/v2/monitors", bearer).status_code == 200
    assert api("GET", "/v2/monitors", bearer).status_code == 200  # prepared and reused
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(authentication.timezone, "now", lambda: later)
    response = api("GET", "/v2/monitors", bearer)
    assert response.status_code == 401 and error_code(response) == "key_expired"
