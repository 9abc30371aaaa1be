"""Country names for display (statuspool.countries): the whole ISO 3166-1 list, codes kept."""

from statuspool import countries


def test_every_current_iso_3166_code_has_a_name():
    assert len(countries.NAMES) == 249
    assert all(len(code) == 2 and code.isupper() for code in countries.NAMES)


def test_label_reads_like_a_person_writes_it():
    assert countries.label("DE") == "Germany (DE)"
    assert countries.label("gb") == "United Kingdom (GB)"
    assert countries.label("KR") == "South Korea (KR)"
    # Codes a geolocation database may answer that are not countries stay readable.
    assert countries.label("EU") == "EU"
    assert countries.label("") == ""


def test_code_for_takes_a_code_or_a_name():
    assert countries.code_for("de") == "DE"
    assert countries.code_for(" germany ") == "DE"
    assert countries.code_for("United States") == "US"
    assert countries.code_for("Atlantis") is None
    assert countries.code_for("") is None
