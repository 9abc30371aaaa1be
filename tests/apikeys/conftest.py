"""Fixtures for the API key lifecycle tests."""

import pytest

from apikeys.services import apikey_create
from audit.services import Actor


@pytest.fixture
def system_actor():
    return Actor.system(label="tests")


@pytest.fixture
def make_key(account_a, system_actor):
    """Create a key through the service: make_key(name=..., scopes=[...], account=...)."""

    def make(name="ci-reader", scopes=("monitors:read",), account=None, created_by=None):
        return apikey_create(
            account=account or account_a,
            name=name,
            scopes=list(scopes),
            actor=system_actor,
            created_by=created_by,
        )

    return make


@pytest.fixture
def key_pair(make_key):
    """(key, plaintext) of a fresh key in account A."""
    return make_key()
