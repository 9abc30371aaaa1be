"""The shape every StatusPool bearer credential shares: prefix + random base62 + CRC32 checksum.

API keys (``sp_live_``, statuspool.api_key_format) and OAuth tokens (``sp_oat_`` / ``sp_ort_``,
oauthapps.token_format) are a prefix, 34 random base62 characters from ``secrets`` (≈ 202 bits) and a
6-character checksum: CRC32 of prefix + random part, in base62, left-padded with zeros. The prefix
routes a bearer value and lets secret scanners recognise a leak; the checksum refuses a typo or a
random string before any database lookup.
"""

import re
import secrets
import string
import zlib

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
RANDOM_LENGTH = 34
CHECKSUM_LENGTH = 6
_ALPHABET_SET = frozenset(ALPHABET)

API_KEY_PREFIX = "sp_live_"
ACCESS_TOKEN_PREFIX = "sp_oat_"  # nosec B105  # the public prefix of a token format, not a secret
REFRESH_TOKEN_PREFIX = "sp_ort_"  # nosec B105  # the public prefix of a token format, not a secret
PREFIXES = (API_KEY_PREFIX, ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX)

# The one pattern of "a StatusPool bearer credential is in this text" (refused in URLs and bodies,
# redacted from the request log, never in audit details or logs): a prefix and 16 or more base62
# characters. Longer than the 8-character public id of a display form (``sp_live_4f8a2c91…``),
# which is not a secret, and shorter than a whole credential, so a truncated paste is caught too.
CREDENTIAL_PATTERN = re.compile(
    "(?:" + "|".join(re.escape(prefix) for prefix in PREFIXES) + ")[0-9A-Za-z]{16,}"
)


def base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(payload: str) -> str:
    return base62(zlib.crc32(payload.encode()), CHECKSUM_LENGTH)


def length_for(prefix: str) -> int:
    return len(prefix) + RANDOM_LENGTH + CHECKSUM_LENGTH


def generate(prefix: str) -> str:
    payload = prefix + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return payload + checksum(payload)


def is_well_formed(raw: str, prefix: str) -> bool:
    """Shape and checksum only; no database involved."""
    if len(raw) != length_for(prefix) or not raw.startswith(prefix):
        return False
    if not _ALPHABET_SET.issuperset(raw[len(prefix) :]):
        return False
    return secrets.compare_digest(checksum(raw[:-CHECKSUM_LENGTH]), raw[-CHECKSUM_LENGTH:])
