"""client_ip(): REMOTE_ADDR unless the request came through a trusted proxy (SPEC.md)."""

import pytest
from django.test import RequestFactory

from statuspool.client_ip import client_ip, normalise

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def request(remote="198.51.100.7", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/v2/monitors", **meta)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("  198.51.100.7 ", "198.51.100.7"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("::FFFF:c633:6407", "198.51.100.7"),
        ("2001:DB8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("198.51.100.7:51234", "198.51.100.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("not-an-address", None),
        ("", None),
        ("999.1.1.1", None),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_without_trusted_proxies_remote_addr_is_the_client(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("198.51.100.7")) == "198.51.100.7"


def test_forged_forwarded_header_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("198.51.100.7", forwarded="203.0.113.5")) == "198.51.100.7"


def test_ipv4_mapped_remote_addr_is_ipv4(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("::ffff:203.0.113.9")) == "203.0.113.9"


def test_missing_remote_addr_is_unknown(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("")) is None


def test_header_from_an_untrusted_peer_is_ignored(settings):
    """A client talking to us directly cannot pick its address by sending the header."""
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request("198.51.100.7", forwarded="10.1.1.1, 203.0.113.5")) == "198.51.100.7"


def test_right_most_untrusted_hop_is_the_client(settings):
    settings.TRUSTED_PROXIES = PROXIES
    # The client forged "6.6.6.6"; our proxy appended the address it really saw, then another of
    # our proxies appended the first one.
    req = request("10.0.0.2", forwarded="6.6.6.6, 203.0.113.5, 10.0.0.9")
    assert client_ip(req) == "203.0.113.5"


def test_ipv6_proxy_chain_and_mapped_client(settings):
    settings.TRUSTED_PROXIES = PROXIES
    req = request("2001:db8:ffff::1", forwarded="::ffff:203.0.113.5")
    assert client_ip(req) == "203.0.113.5"
    req = request("::ffff:10.0.0.2", forwarded="2001:db8:1::42")
    assert client_ip(req) == "2001:db8:1::42"


def test_trusted_proxy_without_header_is_the_client(settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request("10.0.0.2")) == "10.0.0.2"


def test_chain_made_only_of_our_proxies_yields_its_origin(settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request("10.0.0.2", forwarded="10.9.9.9, 10.0.0.3")) == "10.9.9.9"


def test_garbled_hop_stops_the_walk(settings):
    """Nothing left of an unparsable hop is believed; the last believed hop is used."""
    settings.TRUSTED_PROXIES = PROXIES
    req = request("10.0.0.2", forwarded="203.0.113.5, bogus, 10.0.0.3")
    assert client_ip(req) == "10.0.0.3"
    # Garbage left of the real client does not matter.
    req = request("10.0.0.2", forwarded="bogus, 203.0.113.5")
    assert client_ip(req) == "203.0.113.5"


def test_ports_and_spaces_in_the_header(settings):
    settings.TRUSTED_PROXIES = PROXIES
    req = request("10.0.0.2", forwarded=" 203.0.113.5:40000 ,  10.0.0.3 ")
    assert client_ip(req) == "203.0.113.5"


def test_empty_header_entries_are_skipped(settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request("10.0.0.2", forwarded="203.0.113.5,, ")) == "203.0.113.5"
