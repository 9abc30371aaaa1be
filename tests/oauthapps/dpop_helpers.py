"""DPoP proofs as a client makes them (joserfc), for the token endpoint and /v2 tests."""

import base64
import hashlib
import json
import secrets
import time

from joserfc import jws
from joserfc.jwk import ECKey, RSAKey


def ec_key():
    return ECKey.generate_key("P-256")


def rsa_key():
    return RSAKey.generate_key(2048)


def proof(
    key,
    htm,
    htu,
    *,
    access_token=None,
    nonce=None,
    iat=None,
    jti=None,
    alg=None,
    typ="dpop+jwt",
    jwk=None,
):
    alg = alg or ("ES256" if isinstance(key, ECKey) else "RS256")
    claims = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": htm,
        "htu": htu,
        "iat": int(time.time()) if iat is None else iat,
    }
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"typ": typ, "alg": alg, "jwk": jwk or key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(claims).encode(), key, algorithms=[alg])
