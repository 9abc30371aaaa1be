"""OAuth token formats: ``sp_oat_`` access tokens and ``sp_ort_`` refresh tokens.

The same shape as API keys (``statuspool.credential_format``): 34 random base62 characters from ``secrets``
(≈ 202 bits) and a 6-character base62 CRC32 checksum of prefix + random part. The prefix lets /v2
route a bearer value to the right authenticator and secret scanners recognise a leaked token; the
checksum rejects a typo or a random string before any database query.

DOT calls the generators with the oauthlib request (``ACCESS_TOKEN_GENERATOR`` /
``REFRESH_TOKEN_GENERATOR``); only their SHA-256 checksum is stored.
"""

import hashlib

from statuspool import credential_format as credential

ACCESS_PREFIX = credential.ACCESS_TOKEN_PREFIX
REFRESH_PREFIX = credential.REFRESH_TOKEN_PREFIX


def generate_access_token(request=None) -> str:
    return credential.generate(ACCESS_PREFIX)


def generate_refresh_token(request=None) -> str:
    return credential.generate(REFRESH_PREFIX)


def is_well_formed(raw: str, prefix: str = ACCESS_PREFIX) -> bool:
    """Shape and checksum only; no database involved."""
    return credential.is_well_formed(raw, prefix)


def token_checksum(raw: str) -> str:
    """The lookup digest DOT stores in ``token_checksum`` (the token itself is never stored)."""
    return hashlib.sha256(raw.encode()).hexdigest()
