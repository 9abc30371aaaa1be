"""Fixtures for the OAuth tests: a registered "PagerDuty Sync" client of account A."""

import pytest

from audit.services import Actor
from oauthapps import services
from tests.conftest import login
from tests.oauthapps.helpers import register_app


@pytest.fixture
def oauth_app(account_a, alice):
    """(application, plaintext client secret) registered by account A."""
    return register_app(account_a, user=alice)


@pytest.fixture
def app(oauth_app):
    return oauth_app[0]


@pytest.fixture
def secret(oauth_app):
    return oauth_app[1]


@pytest.fixture
def bob_client(client, bob):
    return login(client, bob)


@pytest.fixture
def cli_app(account_a, alice):
    application, secret = services.application_register(
        account=account_a,
        name="statuspool-cli",
        description="The StatusPool command line.",
        redirect_uris=[],
        actor=Actor.system("tests"),
        created_by=alice,
        client_kind="cli",
    )
    assert secret == ""
    return application


@pytest.fixture(autouse=True)
def _long_lived_trust_marker(settings):
    """Once renewed, the credential cache's trust marker outlives the test however slow the
    machine (statuspool/credcache), so a warm request is a cache hit."""
    settings.API_AUTH_TRUST_SECONDS = 300
