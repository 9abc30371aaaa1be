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


def normalise(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
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
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = normalise(hop)
        if address is None:
            return remote  # a garbled chain is not believed any further
        if not _is_trusted(address, networks):
            return address
    return remote
