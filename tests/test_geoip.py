"""Offline GeoIP: the bundled data by default, a configured MaxMind database when set."""

import geoip2.errors
import pytest

from statuspool import geoip


@pytest.fixture(autouse=True)
def _bundled(settings):
    settings.GEOIP_DATABASE_PATH = None
    yield
    geoip._lookup.cache_clear()


@pytest.mark.parametrize(
    ("address", "country"),
    [
        ("81.2.69.160", "GB"),
        ("8.8.8.8", "US"),
        ("::ffff:8.8.8.8", "US"),
        ("2a00:1450:4001::1", "DE"),
        ("10.0.0.1", ""),
        ("192.168.1.1", ""),
        ("172.16.5.4", ""),
        ("127.0.0.1", ""),
        ("::1", ""),
        ("fd00::1", ""),
        ("fe80::1", ""),
        ("169.254.1.1", ""),
        ("203.0.113.7", ""),  # documentation range: reserved
        ("224.0.0.1", ""),
        ("", ""),
        (None, ""),
        ("not an address", ""),
    ],
)
def test_bundled_data(address, country):
    assert geoip.country_of(address) == country


class FakeMaxMind:
    """Stands in for geoip2.database.Reader (no .mmdb file ships with the test suite)."""

    def __init__(self, path, kind):
        self.path, self.kind = path, kind

    def metadata(self):
        return type("Meta", (), {"database_type": f"GeoLite2-{self.kind}"})()

    def _answer(self, address):
        if address == "8.8.8.8":
            return type("Answer", (), {"country": type("C", (), {"iso_code": "CA"})()})()
        raise geoip2.errors.AddressNotFoundError("not found")

    def city(self, address):
        assert self.kind == "City"
        return self._answer(address)

    def country(self, address):
        assert self.kind == "Country"
        return self._answer(address)


@pytest.mark.parametrize("kind", ["City", "Country"])
def test_configured_maxmind_database_is_used(settings, monkeypatch, kind):
    import geoip2.database

    monkeypatch.setattr(geoip2.database, "Reader", lambda path: FakeMaxMind(path, kind))
    settings.GEOIP_DATABASE_PATH = f"/srv/geoip/GeoLite2-{kind}.mmdb"
    assert geoip.country_of("8.8.8.8") == "CA"
    assert geoip.country_of("81.2.69.160") == ""  # not in that database
    assert geoip.country_of("10.0.0.1") == ""  # private: never looked up
    settings.GEOIP_DATABASE_PATH = None
    assert geoip.country_of("8.8.8.8") == "US"  # back to the bundled data


def test_a_broken_database_never_breaks_the_caller(settings, caplog):
    settings.GEOIP_DATABASE_PATH = "/nonexistent/GeoLite2-Country.mmdb"
    assert geoip.country_of("8.8.8.8") == ""
    assert "GeoIP lookup failed" in caplog.text
