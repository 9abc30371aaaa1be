"""The hot path's database cost, pinned: a typo costs nothing, a listed page one or two queries."""

from statuspool import api_key_format
from statuspool.monitoring.models import Monitor
from tests.api.fixtures import issue_key


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
    with django_assert_num_queries(2):  # the key with its account's plan; the page of monitors
        response = api("GET", "/v2/monitors", f"Bearer {raw}")
    assert len(response.json()["results"]) == 25


def test_monitor_list_warm_cache(api, account_a, django_assert_num_queries):
    _, raw = issue_key(account_a, ["monitors:read"])
    _monitors(account_a, 25)
    api("GET", "/v2/monitors", f"Bearer {raw}")
    with django_assert_num_queries(1):  # the page of monitors (status included), nothing else
        response = api("GET", "/v2/monitors", f"Bearer {raw}")
    assert {m["status"] for m in response.json()["results"]} == {"up"}
