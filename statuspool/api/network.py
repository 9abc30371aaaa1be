"""Step 2 of the /v2 pipeline: the credential's IP allowlist (Enterprise).

Runs before the scope check, so a key used from the wrong place learns nothing about what it may
do. An empty list means any address. The address is ``client_ip(request)``: ``REMOTE_ADDR``
unless trusted proxies are configured, IPv4-mapped IPv6 already turned into IPv4.
"""

import ipaddress
from functools import lru_cache

from rest_framework.permissions import BasePermission

from statuspool.api.credentials import Credential
from statuspool.api.errors import ApiError
from statuspool.client_ip import request_ip


@lru_cache(maxsize=1024)
def parse_networks(cidrs: tuple[str, ...]):
    """Parsed once per distinct list; stored blocks were validated when they were saved."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue  # an unparsable entry can only narrow the list, never widen it
    return tuple(networks)


def address_allowed(address: str | None, cidrs) -> bool:
    if not cidrs:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in parse_networks(tuple(cidrs)))


class AllowedNetwork(BasePermission):
    def has_permission(self, request, view):
        credential = request.auth
        if not isinstance(credential, Credential) or not credential.allowed_networks:
            return True  # no credential: the scope check answers 401
        address = request_ip(request)
        if address_allowed(address, credential.allowed_networks):
            return True
        raise ApiError(
            "ip_not_allowed",
            f"Requests from {address or 'an unknown address'} are not allowed for this credential: "
            "its IP allowlist does not include that address.",
            403,
        )
