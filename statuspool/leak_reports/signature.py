"""Verify a report's ECDSA P-256 / SHA-256 signature against the configured public keys.

GitHub signs the raw request body and names the key in ``Github-Public-Key-Identifier``; the
signature (base64 of DER) is in ``Github-Public-Key-Signature``. Keys come from the
``LEAK_REPORT_PUBLIC_KEYS`` setting (id → DER SubjectPublicKeyInfo), never fetched over the
network: a request cannot make us trust a key we were not given.
"""

import base64
import binascii
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from django.conf import settings


@lru_cache(maxsize=32)
def _public_key(der: bytes) -> ec.EllipticCurvePublicKey:
    return load_der_public_key(der)


def signature_is_valid(*, body: bytes, key_id: str, signature_b64: str) -> bool:
    der = settings.LEAK_REPORT_PUBLIC_KEYS.get(key_id or "")
    if der is None or not signature_b64:
        return False
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        _public_key(der).verify(signature, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
