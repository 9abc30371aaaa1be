"""The credential shape shared by API keys and OAuth tokens (statuspool.credential_format).

The vectors were produced by the formats as first shipped: factoring the code must never change
what an existing key or token looks like, or every credential in the wild would stop validating.
"""

import pytest

from oauthapps import token_format as oauth_tokens
from statuspool import api_key_format as apikey_tokens
from statuspool import credential_format as tokens

VECTORS = [
    ("sp_live_", "sp_live_4f8a2c91AAAAAAAAAAAAAAAAAAAAAAAAAA4gbKcl"),
    ("sp_oat_", "sp_oat_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1NIPF6"),
    ("sp_ort_", "sp_ort_012345678901234567890123456789abcd2FuLgG"),
]


@pytest.mark.parametrize(("prefix", "raw"), VECTORS)
def test_known_credentials_keep_validating(prefix, raw):
    assert tokens.checksum(raw[:-6]) == raw[-6:]
    assert tokens.is_well_formed(raw, prefix)
    assert not tokens.is_well_formed(raw[:-1] + ("A" if raw[-1] != "A" else "B"), prefix)
    assert not tokens.is_well_formed(raw, "sp_test_")


def test_each_format_uses_the_shared_shape():
    key = apikey_tokens.generate()
    assert len(key) == apikey_tokens.KEY_LENGTH == 48 and apikey_tokens.is_well_formed(key)
    assert tokens.is_well_formed(key, "sp_live_")
    assert apikey_tokens.is_well_formed(VECTORS[0][1])
    assert apikey_tokens.public_id_of(VECTORS[0][1]) == "4f8a2c91"

    access, refresh = oauth_tokens.generate_access_token(), oauth_tokens.generate_refresh_token()
    assert len(access) == len(refresh) == 47
    assert oauth_tokens.is_well_formed(access) and oauth_tokens.is_well_formed(VECTORS[1][1])
    assert oauth_tokens.is_well_formed(refresh, oauth_tokens.REFRESH_PREFIX)
    assert not oauth_tokens.is_well_formed(refresh)  # a refresh token is no access token
    assert oauth_tokens.is_well_formed(VECTORS[2][1], oauth_tokens.REFRESH_PREFIX)


def test_checksum_is_left_padded_base62():
    assert tokens.base62(0, 6) == "000000" and tokens.base62(61, 6) == "00000z"
    assert tokens.base62(62, 3) == "010"
    assert not tokens.is_well_formed("sp_live_" + "!" * 40, "sp_live_")


def test_one_pattern_finds_every_kind_whole_or_truncated_but_not_a_display_id():
    for _prefix, raw in VECTORS:
        assert tokens.CREDENTIAL_PATTERN.search(f"see {raw} here").group() == raw
        assert tokens.CREDENTIAL_PATTERN.search(raw[:30])  # a truncated paste is still a leak
    assert not tokens.CREDENTIAL_PATTERN.search(apikey_tokens.display("4f8a2c91"))
    assert not tokens.CREDENTIAL_PATTERN.search("sp_live_checker and sp_live_status")
