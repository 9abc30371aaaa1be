"""The client's address: one function for the allowlist, the audit trail, the request log, alerts.

``REMOTE_ADDR`` unless ``TRUSTED_PROXIES`` is configured; then the right-most address of
``X-Forwarded-For`` that is not a trusted proxy (addresses left of it may be forged by the client).
IPv4-mapped IPv6 addresses (``::ffff:192.0.2.1``) are treated as the IPv4 address they carry.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]):
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in proxies)


def _strip_port(address: str) -> str:
    """Some proxies write ``203.0.113.9:51234`` or ``[2001:db8::1]:51234``."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    return address


@lru_cache(maxsize=4096)  # parsed once per address a process sees (clients come back)
def normalise(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(_strip_port(address.strip()).split("%", 1)[0])
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _is_trusted(address: str, networks) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip.version == net.version and ip in net for net in networks)


def client_ip(request) -> str | None:
    remote = normalise(request.META.get("REMOTE_ADDR", "") or "")
    proxies = tuple(settings.TRUSTED_PROXIES)
    if not proxies or remote is None:
        return remote
    networks = _trusted_networks(proxies)
    if not _is_trusted(remote, networks):
        return remote  # the request did not come through our proxy: ignore the header
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = remote
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = normalise(hop)
        if address is None:
            return client  # a garbled chain is not believed any further
        client = address
        if not _is_trusted(address, networks):
            return address
    # Every hop is one of ours (a request from inside our network): the left-most one sent it.
    return client


_REQUEST_ATTR = "api_client_ip"


def request_ip(request) -> str | None:
    """``client_ip`` of a /v2 request, worked out once: the allowlist, the failed-authentication
    limit and the request's bookkeeping all ask for it."""
    http_request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    try:
        return http_request.__dict__[_REQUEST_ATTR]
    except KeyError:
        address = http_request.__dict__[_REQUEST_ATTR] = client_ip(http_request)
        return address
