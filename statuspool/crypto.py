"""Secrets at rest.

Two tools, for two kinds of secret (SPEC.md "Secrets at rest"):

* ``keyed_digest`` / ``digest_matches`` — HMAC-SHA256 with a server-side pepper that has an id, for
  bearer credentials the server only has to recognise (API keys, OAuth tokens, recovery codes).
* ``encrypt`` / ``decrypt`` and ``EncryptedTextField`` — AES-256-GCM for secrets the server must read
  back (TOTP seeds, notification channel credentials).

Ciphertext format: ``v1$<key id>$<base64url(nonce ‖ ciphertext ‖ tag)>``. The associated data binds a
value to its table, column and row, so a ciphertext copied into another row (or column) fails to
decrypt instead of silently leaking one row's secret through another.
"""

import base64
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import models

_VERSION = "v1"
_NONCE_BYTES = 12  # 96-bit nonces, the size GCM is designed for; fresh from os.urandom each time.


class DecryptionError(Exception):
    """The value was altered, moved to another row, or made with a key that is not in the ring."""


# --- Keyed digests ---------------------------------------------------------------------------------
def current_pepper_id() -> str:
    return next(iter(settings.DIGEST_PEPPERS))


def keyed_digest(value: str, pepper_id: str | None = None) -> tuple[str, str]:
    """Return (pepper id, hex HMAC-SHA256 of value); the newest pepper unless one is named."""
    pepper_id = pepper_id or current_pepper_id()
    pepper = settings.DIGEST_PEPPERS[pepper_id]
    # hmac.digest: OpenSSL's one-shot HMAC, a few times cheaper than hmac.new() per /v2 request.
    return pepper_id, hmac.digest(pepper, value.encode(), "sha256").hex()


def digest_matches(value: str, pepper_id: str, expected_hex: str) -> bool:
    """Constant-time check of value against a stored digest; an unknown pepper id never matches."""
    if pepper_id not in settings.DIGEST_PEPPERS:
        return False
    _, actual = keyed_digest(value, pepper_id)
    return hmac.compare_digest(actual, expected_hex)


# --- AES-256-GCM ---------------------------------------------------------------------------------
def current_key_id() -> str:
    return next(iter(settings.ENCRYPTION_KEYS))


def key_id_of(token: str) -> str:
    return token.split("$", 2)[1]


def encrypt(plaintext: str, associated_data: str) -> str:
    key_id = current_key_id()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(settings.ENCRYPTION_KEYS[key_id]).encrypt(
        nonce, plaintext.encode(), associated_data.encode()
    )
    body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{_VERSION}${key_id}${body}"


def decrypt(token: str, associated_data: str) -> str:
    try:
        version, key_id, body = token.split("$", 2)
    except ValueError:
        raise DecryptionError("not an encrypted value")
    if version != _VERSION:
        raise DecryptionError(f"unknown format {version!r}")
    key = settings.ENCRYPTION_KEYS.get(key_id)
    if key is None:
        raise DecryptionError(f"encryption key {key_id!r} is not in ENCRYPTION_KEYS")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        plaintext = AESGCM(key).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated_data.encode()
        )
    except InvalidTag:
        raise DecryptionError("ciphertext was altered or belongs to another row")
    return plaintext.decode()


# --- Model field ---------------------------------------------------------------------------------
class Sealed(str):
    """A ciphertext as loaded from the database, not yet decrypted (it is never shown as text)."""

    def __repr__(self) -> str:
        return "<Sealed>"


class _EncryptedAttribute:
    """Decrypts on first read with the row's identity, and remembers new plaintext until save."""

    def __init__(self, field: "EncryptedTextField"):
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, Sealed):
            value = decrypt(value, self.field.associated_data(instance))
            instance.__dict__[self.field.attname] = value
            instance.__dict__[self.field.sealed_attname] = None
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """A text column whose value is stored AES-256-GCM encrypted and bound to its row.

    The row's primary key is part of the associated data, so it must be known before the first
    save: use a UUID primary key with a Python default, or a one-to-one primary key.
    """

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only=private_only)
        setattr(cls, self.attname, _EncryptedAttribute(self))

    @property
    def sealed_attname(self) -> str:
        return f"_{self.attname}_sealed"

    def associated_data(self, instance) -> str:
        if instance.pk is None:
            raise ValueError(f"{type(instance).__name__} needs its primary key before encryption")
        return f"{instance._meta.db_table}.{self.column}:{instance.pk}"

    def from_db_value(self, value, expression, connection):
        return None if value is None else Sealed(value)

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname)
        if value is None or isinstance(value, Sealed):
            return value
        return encrypt(value, self.associated_data(model_instance))

    def get_prep_value(self, value):
        if value is None or isinstance(value, Sealed):
            return value
        # Plain text reaching the database without pre_save (a filter, an update()) would be
        # stored or compared in the clear: refuse it.
        if isinstance(value, str) and value.startswith(f"{_VERSION}$"):
            return value
        raise ValueError("EncryptedTextField values are written through model.save() only")


def encrypted_fields(model) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
