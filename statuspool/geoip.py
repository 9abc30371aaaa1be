"""Offline country lookup for last-used details and the "new geolocation" usage alert.

``country_of(ip)`` returns an ISO 3166 alpha-2 code, or "" when the address is private, loopback,
reserved or simply unknown. It never reaches the network: it reads the MaxMind database at
``settings.GEOIP_DATABASE_PATH`` (GeoLite2/GeoIP2 Country or City) when one is configured, and
otherwise the data set bundled with geoip2fast (IPv4 + IPv6). Lookups are cached per process
because a key is usually used from a handful of addresses.
"""

import ipaddress
import logging
import threading
from functools import lru_cache

from django.conf import settings

logger = logging.getLogger(__name__)

# geoip2fast's file that covers both IPv4 and IPv6 (the default one is IPv4 only).
_BUNDLED_DATA_FILE = "geoip2fast-ipv6.dat.gz"

_lock = threading.Lock()
_reader = None
_reader_source = None


class _MaxMindReader:
    def __init__(self, path: str):
        import geoip2.database

        self._reader = geoip2.database.Reader(path)
        # A City database answers .city(); a Country database only .country().
        self._city = "City" in self._reader.metadata().database_type

    def lookup(self, address: str) -> str:
        import geoip2.errors

        try:
            answer = self._reader.city(address) if self._city else self._reader.country(address)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return ""
        return answer.country.iso_code or ""


class _BundledReader:
    def __init__(self):
        from geoip2fast import GeoIP2Fast

        self._reader = GeoIP2Fast(verbose=False, geoip2fast_data_file=_BUNDLED_DATA_FILE)

    def lookup(self, address: str) -> str:
        answer = self._reader.lookup(address)
        code = getattr(answer, "country_code", "") or ""
        # geoip2fast answers "--" (and other non-codes) for what it does not know.
        return code if len(code) == 2 and code.isalpha() else ""


def _get_reader():
    global _reader, _reader_source
    source = settings.GEOIP_DATABASE_PATH or ""
    if _reader is not None and _reader_source == source:
        return _reader
    with _lock:
        if _reader is None or _reader_source != source:
            _reader = _MaxMindReader(source) if source else _BundledReader()
            _reader_source = source
            _lookup.cache_clear()
    return _reader


def public_address(address: str | None) -> str | None:
    """The address in canonical form if it can have a country, else None.

    Private, loopback, link-local, reserved and documentation ranges never have one; an
    IPv4-mapped IPv6 address is looked up as the IPv4 address it carries.
    """
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip) if ip.is_global and not ip.is_multicast else None


@lru_cache(maxsize=4096)
def _lookup(address: str) -> str:
    return _get_reader().lookup(address).upper()


def country_of(address: str | None) -> str:
    """ISO country code of a public address, "" for anything else (never raises)."""
    address = public_address(address)
    if address is None:
        return ""
    try:
        _get_reader()  # (re)opens the reader when the configured database changed
        return _lookup(address)
    except Exception:
        # A missing or corrupt database must not break the request that asked; the country is
        # only informational there.
        logger.exception("GeoIP lookup failed (database %r)", settings.GEOIP_DATABASE_PATH)
        return ""
