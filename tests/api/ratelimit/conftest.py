"""Fixtures for rate limits, the allowlist and client addresses: keys on each plan, a /v2 caller."""

import time

import pytest
import time_machine

from apikeys.models import ApiKey
from statuspool import api_key_format
from statuspool.accounts.models import Account
from statuspool.api import throttling

READ_PATH = "/v2/monitors"


def issue_key(account, scopes=("monitors:read", "monitors:write"), *, networks=(), name=None):
    """A key straight in the database: (key, "Bearer …" header value)."""
    raw = api_key_format.generate()
    key = ApiKey(
        account=account,
        name=name or f"key {api_key_format.public_id_of(raw)}",
        scopes=list(scopes),
        allowed_networks=list(networks),
    )
    key.set_secret(raw)
    key.save()
    return key, f"Bearer {raw}"


@pytest.fixture(autouse=True)
def _fresh_limiter_state():
    """The per-process fallback and circuit breaker must not leak between tests."""
    throttling.guard.reset()
    throttling.local_counters.clear()
    throttling.suspects.clear()
    yield
    throttling.guard.reset()
    throttling.local_counters.clear()


@pytest.fixture
def steady_window():
    """Stop the wall clock: no 60-second window can roll over in the middle of a test.

    (Counters live in windows ending at a per-identity second; a test that crossed one would see
    its counts restart.) time.monotonic keeps running, so timeouts behave as usual.
    """
    with time_machine.travel(time.time(), tick=False):
        yield


@pytest.fixture
def team_account(db):
    return Account.objects.create(name="Team Co", plan="team", billing_email="b@team.test")


@pytest.fixture
def enterprise_account(db):
    return Account.objects.create(name="Big Corp", plan="enterprise", billing_email="b@big.test")


@pytest.fixture
def call(client):
    """call(method, bearer, path=READ_PATH, ip="198.51.100.10", json=None, **meta) → response."""

    def send(method, bearer=None, path=READ_PATH, ip="198.51.100.10", json=None, **meta):
        meta["REMOTE_ADDR"] = ip
        if bearer:
            meta["HTTP_AUTHORIZATION"] = bearer
        handler = getattr(client, method.lower())
        if json is not None:
            return handler(path, json, content_type="application/json", **meta)
        return handler(path, **meta)

    return send


def rate_headers(response) -> dict:
    return {
        name: response.headers.get(name)
        for name in (
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "X-RateLimit-Resource",
        )
    }
