"""The API key format: ``sp_live_`` + 40 base62 characters.

Layout of the 40 characters: 8-character public id, 26 random characters, 6-character checksum.
The checksum is CRC32 of the prefix and the first 34 characters, written in base62 and left-padded
to 6, so a typo or a random string is refused before any database lookup, and secret scanners can
recognise a real key. Randomness: 34 characters from ``secrets`` (≈ 202 bits).
"""

import secrets
import string
import zlib

PREFIX = "sp_live_"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
PUBLIC_ID_LENGTH = 8
BODY_LENGTH = 40
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + BODY_LENGTH
_ALPHABET_SET = frozenset(ALPHABET)


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(payload: str) -> str:
    return _base62(zlib.crc32(payload.encode()), CHECKSUM_LENGTH)


def generate() -> str:
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH - CHECKSUM_LENGTH))
    payload = PREFIX + random_part
    return payload + checksum(payload)


def is_well_formed(raw: str) -> bool:
    """Shape and checksum only; no database involved."""
    if len(raw) != KEY_LENGTH or not raw.startswith(PREFIX):
        return False
    body = raw[len(PREFIX) :]
    if not _ALPHABET_SET.issuperset(body):
        return False
    return secrets.compare_digest(checksum(raw[:-CHECKSUM_LENGTH]), raw[-CHECKSUM_LENGTH:])


def public_id_of(raw: str) -> str:
    return raw[len(PREFIX) : len(PREFIX) + PUBLIC_ID_LENGTH]


def display(public_id: str) -> str:
    """How the dashboard names a key without revealing it: ``sp_live_4f8a2c91…``."""
    return f"{PREFIX}{public_id}…"
