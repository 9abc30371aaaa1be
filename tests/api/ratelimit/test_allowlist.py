"""IP allowlisting on /v2: inside/outside for IPv4, IPv6 and IPv4-mapped IPv6; proxies."""

import pytest

from apikeys.restriction_services import apikey_set_allowed_networks
from audit.services import Actor
from tests.api.ratelimit.conftest import issue_key, rate_headers

NETWORKS = ["203.0.113.0/24", "2001:db8:abcd::/48"]


@pytest.fixture
def restricted(enterprise_account):
    return issue_key(enterprise_account, scopes=["monitors:read"], networks=NETWORKS)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("203.0.113.1", True),
        ("203.0.113.255", True),
        ("203.0.114.1", False),
        ("198.51.100.7", False),
        ("2001:db8:abcd:12::1", True),
        ("2001:db8:abce::1", False),
        ("::ffff:203.0.113.9", True),  # IPv4-mapped IPv6 is the IPv4 address
        ("::ffff:198.51.100.7", False),
        ("::1", False),
        ("127.0.0.1", False),
    ],
)
def test_allowlist_matrix(restricted, call, settings, address, allowed):
    settings.TRUSTED_PROXIES = []
    _, bearer = restricted
    response = call("GET", bearer, ip=address)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "ip_not_allowed"
        shown = address.removeprefix("::ffff:")
        assert shown in error["message"]
    assert rate_headers(response)["X-RateLimit-Limit"] == "2400"


def test_empty_list_means_any_address(enterprise_account, call):
    _, bearer = issue_key(enterprise_account, networks=[])
    for address in ("198.51.100.7", "2001:db8::1", "::ffff:192.0.2.1"):
        assert call("GET", bearer, ip=address).status_code == 200


def test_network_policy_runs_before_the_scope_check(restricted, call):
    _, bearer = restricted
    response = call("GET", bearer, path="/v2/team/members", ip="198.51.100.7")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ip_not_allowed"
    inside = call("GET", bearer, path="/v2/team/members", ip="203.0.113.5")
    assert inside.json()["error"]["code"] == "insufficient_scope"


def test_forged_forwarded_for_does_not_pass_without_trusted_proxy(restricted, call, settings):
    settings.TRUSTED_PROXIES = []
    _, bearer = restricted
    response = call("GET", bearer, ip="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert response.status_code == 403
    assert "198.51.100.7" in response.json()["error"]["message"]


def test_trusted_proxy_right_most_untrusted_address_is_used(restricted, call, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    _, bearer = restricted
    through_proxy = call("GET", bearer, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert through_proxy.status_code == 200
    # The client prepends an allowed address; the proxy appends the one it really saw.
    forged = call(
        "GET", bearer, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7, 10.0.0.3"
    )
    assert forged.status_code == 403
    assert "198.51.100.7" in forged.json()["error"]["message"]
    # A client outside the proxy network cannot use the header at all.
    direct = call("GET", bearer, ip="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert direct.status_code == 403


def test_allowlist_change_applies_on_the_next_request(
    enterprise_account, call, django_capture_on_commit_callbacks
):
    key, bearer = issue_key(enterprise_account, networks=[])
    assert call("GET", bearer, ip="198.51.100.7").status_code == 200  # cached: any address
    with django_capture_on_commit_callbacks(execute=True):
        apikey_set_allowed_networks(key=key, networks=["203.0.113.0/24"], actor=Actor.system("t"))
    assert call("GET", bearer, ip="198.51.100.7").status_code == 403
    assert call("GET", bearer, ip="203.0.113.7").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        apikey_set_allowed_networks(key=key, networks=[], actor=Actor.system("t"))
    assert call("GET", bearer, ip="198.51.100.7").status_code == 200
