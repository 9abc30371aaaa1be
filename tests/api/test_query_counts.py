"""The hot path's database cost, pinned: a typo costs nothing, a listed page one or two queries."""

import pytest

from statuspool import api_key_format
from statuspool.monitoring.models import Monitor
from tests.api.fixtures import issue_key


@pytest.fixture(autouse=True)
def _long_lived_trust_marker(settings):
    """Once renewed, the credential cache's trust marker outlives the test however slow the
    machine (statuspool/credcache; its renewal is pinned in test_round_trips)."""
    settings.API_AUTH_TRUST_SECONDS = 300


def test_typo_in_a_key_costs_zero_queries(api, account_a, django_assert_num_queries):
    _, raw = issue_key(account_a, ["monitors:read"])
    typo = raw[:-7] + ("a" if raw[-7] != "a" else "b") + raw[-6:]
    assert not api_key_format.is_well_formed(typo)
    with django_assert_num_queries(0):
        assert api("GET", "/v2/monitors", f"Bearer {typo}").status_code == 401


def _monitors(account, count):
    Monitor.objects.bulk_create(
        Monitor(account=account, name=f"Monitor {n}", url=f"https://m{n}.test")
        for n in range(count)
    )


def test_monitor_list_cold_cache(api, account_a, django_assert_num_queries):
    _, raw = issue_key(account_a, ["monitors:read"])
    _monitors(account_a, 25)
    # The key with its account's plan; the page of monitors; and, since the cache's trust marker
    # is missing too, the check for invalidations waiting in the database (once per
    # API_AUTH_TRUST_SECONDS for the whole cluster, statuspool/credcache).
    with django_assert_num_queries(3):
        response = api("GET", "/v2/monitors", f"Bearer {raw}")
    assert len(response.json()["results"]) == 25


def test_monitor_list_warm_cache(api, account_a, django_assert_num_queries):
    _, raw = issue_key(account_a, ["monitors:read"])
    _monitors(account_a, 25)
    api("GET", "/v2/monitors", f"Bearer {raw}")
    with django_assert_num_queries(1):  # the page of monitors (status included), nothing else
        response = api("GET", "/v2/monitors", f"Bearer {raw}")
    assert {m["status"] for m in response.json()["results"]} == {"up"}
