"""DPoP proofs (RFC 9449): the check the token endpoint and /v2 run on a ``DPoP`` header.

A proof is a JWT the client signs with a key it keeps (ES256 or RS256 here) and sends with every
request; the public key travels in the JWT header. What makes it worth something:

* the signature verifies with the key in the header, and the key is public-only;
* ``htm`` / ``htu`` name this request's method and URL (no query, no fragment), so a proof made
  for one endpoint cannot be replayed at another;
* ``iat`` is within ``OAUTH_DPOP_IAT_WINDOW_SECONDS`` of our clock, and ``jti`` is seen once: it
  is remembered in the shared cache (Redis in production) for twice that window, so a proof
  captured in transit cannot be sent again by anyone, to any process;
* at /v2, ``ath`` is the hash of the access token it accompanies;
* the token endpoint may demand a server nonce (``OAUTH_DPOP_NONCE_REQUIRED``): a proof without a
  valid one gets ``use_dpop_nonce`` and a fresh nonce in ``DPoP-Nonce``. Nonces are signed
  timestamps (Django's ``TimestampSigner``), valid five minutes in every process, never stored.

The token is bound to the key's RFC 7638 thumbprint (``jkt``); nothing here touches the database.
If the shared cache is down, ``jti`` values are remembered in this process only (and an error is
logged once a minute): replays across processes are then caught by the short ``iat`` window only.
"""

import base64
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

logger = logging.getLogger(__name__)

ALGORITHMS = ("ES256", "RS256")
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


class _ProofRegistry(jws.JWSRegistry):
    max_header_length = 2048  # the header carries the public key: RSA-4096 needs ~800 bytes
    max_payload_length = 4096


_REGISTRY = _ProofRegistry(algorithms=list(ALGORITHMS))
_NONCE_SIGNER = signing.TimestampSigner(salt="oauthapps.dpop.nonce")
NONCE_MAX_AGE = 300


class DPoPError(Exception):
    """The proof is missing, malformed or does not fit this request."""

    error = "invalid_dpop_proof"


class NonceRequired(DPoPError):
    error = "use_dpop_nonce"


@dataclass(frozen=True)
class Proof:
    jkt: str
    jti: str


def new_nonce() -> str:
    return _NONCE_SIGNER.sign(base64.urlsafe_b64encode(time.time_ns().to_bytes(8)).decode())


def _nonce_valid(nonce) -> bool:
    if not isinstance(nonce, str):
        return False
    try:
        _NONCE_SIGNER.unsign(nonce, max_age=NONCE_MAX_AGE)
    except signing.BadSignature:
        return False
    return True


def access_token_hash(token: str) -> str:
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _normalised_url(url: str) -> tuple:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = parts.port if parts.port not in (None, default) else None
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path or "/")


def _header_and_claims(proof: str) -> tuple[dict, dict]:
    try:
        compact = jws.extract_compact(proof.encode(), registry=_REGISTRY)
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise DPoPError("The DPoP proof is not a signed JWT.") from exc
    header = compact.protected
    if not isinstance(claims, dict) or not isinstance(header, dict):
        raise DPoPError("The DPoP proof is not a signed JWT.")
    return header, claims


def _public_key(header: dict):
    if header.get("typ") != "dpop+jwt":
        raise DPoPError("The DPoP proof must have typ dpop+jwt.")
    if header.get("alg") not in ALGORITHMS:
        raise DPoPError(f"The DPoP proof must be signed with one of {', '.join(ALGORITHMS)}.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or _PRIVATE_MEMBERS & set(jwk):
        raise DPoPError("The DPoP proof must carry its public key (and only that) as jwk.")
    expected_kty = "EC" if header["alg"] == "ES256" else "RSA"
    if jwk.get("kty") != expected_kty or (expected_kty == "EC" and jwk.get("crv") != "P-256"):
        raise DPoPError("The DPoP proof's key does not match its algorithm.")
    try:
        key = JWKRegistry.import_key(jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise DPoPError("The DPoP proof's key cannot be read.") from exc
    if expected_kty == "RSA" and key.raw_value.key_size < 2048:
        raise DPoPError("The DPoP proof's RSA key is shorter than 2048 bits.")
    return key


def _check_claims(claims: dict, *, method: str, url: str, access_token: str | None) -> None:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
        raise DPoPError("The DPoP proof needs a unique jti.")
    if claims.get("htm") != method:
        raise DPoPError("The DPoP proof was made for another HTTP method (htm).")
    htu = claims.get("htu")
    if not isinstance(htu, str) or _normalised_url(htu) != _normalised_url(url):
        raise DPoPError("The DPoP proof was made for another URL (htu).")
    iat = claims.get("iat")
    window = settings.OAUTH_DPOP_IAT_WINDOW_SECONDS
    if not isinstance(iat, int | float) or abs(time.time() - iat) > window:
        raise DPoPError("The DPoP proof is too old or from the future (iat).")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise DPoPError("The DPoP proof was made for another access token (ath).")


def verify_proof(
    proof: str | None,
    *,
    method: str,
    url: str,
    access_token: str | None = None,
    require_nonce: bool = False,
) -> Proof:
    """Check one proof against this request; returns the key thumbprint it proves possession of."""
    if not proof or "," in proof or len(proof) > 8192:
        raise DPoPError("Send exactly one DPoP proof in the DPoP header.")
    header, claims = _header_and_claims(proof)
    key = _public_key(header)
    try:
        jws.deserialize_compact(proof, key, registry=_REGISTRY)
    except JoseError as exc:
        raise DPoPError("The DPoP proof's signature does not verify.") from exc
    _check_claims(claims, method=method, url=url, access_token=access_token)
    if require_nonce and not _nonce_valid(claims.get("nonce")):
        raise NonceRequired("Sign the DPoP proof again with the nonce in the DPoP-Nonce header.")
    jkt = key.thumbprint()
    if not _first_use(f"{jkt}:{claims['jti']}"):
        raise DPoPError("This DPoP proof was already used (jti).")
    return Proof(jkt=jkt, jti=claims["jti"])


# --- jti: once per proof, across processes ---------------------------------------------------------
_local_seen: dict[str, float] = {}
_local_lock = threading.Lock()
_next_error_log = 0.0


def _first_use(key: str) -> bool:
    digest = hashlib.sha256(key.encode()).hexdigest()
    ttl = 2 * settings.OAUTH_DPOP_IAT_WINDOW_SECONDS
    try:
        return cache.add(f"dpop-jti:{digest}", 1, timeout=ttl)
    except Exception as exc:  # a dead Redis must not turn every DPoP request into a 500
        _log_cache_error(exc)
    now = time.monotonic()
    with _local_lock:
        for seen, until in list(_local_seen.items()):
            if until < now:
                del _local_seen[seen]
        if digest in _local_seen:
            return False
        _local_seen[digest] = now + ttl
        return True


def _log_cache_error(exc: Exception) -> None:
    global _next_error_log
    now = time.monotonic()
    if now >= _next_error_log:
        _next_error_log = now + 60
        logger.error(
            "Shared cache unavailable for DPoP jti replay checks (%s); remembering jti values "
            "in this process only",
            type(exc).__name__,
        )
