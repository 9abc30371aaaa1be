"""OAuth token formats: ``sp_oat_`` access tokens and ``sp_ort_`` refresh tokens.

The same shape as API keys (apikeys.tokens): 34 random base62 characters from ``secrets`` (≈ 202
bits) and a 6-character base62 CRC32 checksum of prefix + random part. The prefix lets /v2 route a
bearer value to the right authenticator and secret scanners recognise a leaked token; the checksum
rejects a typo or a random string before any database query.

DOT calls the generators with the oauthlib request (``ACCESS_TOKEN_GENERATOR`` /
``REFRESH_TOKEN_GENERATOR``); only their SHA-256 checksum is stored.
"""

import hashlib
import secrets

from apikeys.tokens import ALPHABET, checksum

ACCESS_PREFIX = "sp_oat_"
REFRESH_PREFIX = "sp_ort_"
RANDOM_LENGTH = 34
CHECKSUM_LENGTH = 6
_ALPHABET_SET = frozenset(ALPHABET)


def _generate(prefix: str) -> str:
    payload = prefix + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return payload + checksum(payload)


def generate_access_token(request=None) -> str:
    return _generate(ACCESS_PREFIX)


def generate_refresh_token(request=None) -> str:
    return _generate(REFRESH_PREFIX)


def is_well_formed(raw: str, prefix: str = ACCESS_PREFIX) -> bool:
    """Shape and checksum only; no database involved."""
    if len(raw) != len(prefix) + RANDOM_LENGTH + CHECKSUM_LENGTH or not raw.startswith(prefix):
        return False
    if not _ALPHABET_SET.issuperset(raw[len(prefix) :]):
        return False
    return secrets.compare_digest(checksum(raw[:-CHECKSUM_LENGTH]), raw[-CHECKSUM_LENGTH:])


def token_checksum(raw: str) -> str:
    """The lookup digest DOT stores in ``token_checksum`` (the token itself is never stored)."""
    return hashlib.sha256(raw.encode()).hexdigest()
