"""The API key format: ``sp_live_`` + 40 base62 characters.

Layout of the 40 characters: 8-character public id, 26 more random characters, 6-character
checksum — the shape every StatusPool credential shares (``statuspool.credential_format``: 34 random
characters from ``secrets``, ≈ 202 bits, then a base62 CRC32 of prefix + random part), so a typo or
a random string is refused before any database lookup and secret scanners can recognise a real key.
"""

from statuspool import credential_format as credential

PREFIX = credential.API_KEY_PREFIX
PUBLIC_ID_LENGTH = 8
KEY_LENGTH = credential.length_for(PREFIX)  # 48
checksum = credential.checksum


def generate() -> str:
    return credential.generate(PREFIX)


def is_well_formed(raw: str) -> bool:
    """Shape and checksum only; no database involved."""
    return credential.is_well_formed(raw, PREFIX)


def public_id_of(raw: str) -> str:
    return raw[len(PREFIX) : len(PREFIX) + PUBLIC_ID_LENGTH]


def display(public_id: str) -> str:
    """How the dashboard names a key without revealing it: ``sp_live_4f8a2c91…``."""
    return f"{PREFIX}{public_id}…"
