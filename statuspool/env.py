"""Small, strict readers for configuration taken from the environment.

Every reader fails loudly (ImproperlyConfigured) on a value it cannot understand, so a typo in
production configuration stops the process at start instead of silently falling back.
"""

import base64
import ipaddress
import math
import os
import re
from collections import Counter
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines into os.environ without overriding what is already set."""
    if not path.exists():
        return
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ImproperlyConfigured(f"{path}:{number}: expected KEY=VALUE")
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}")
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_cidrs(name: str) -> list[str]:
    """Comma-separated CIDR blocks (host bits allowed: a proxy's address alone is fine)."""
    blocks = env_list(name, [])
    for block in blocks:
        try:
            ipaddress.ip_network(block, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {block!r} is not an IP address or CIDR block")
    return blocks


_RATE = re.compile(r"^[1-9][0-9]*/[0-9]*[smhd]$")


def env_rate(name: str, default: str) -> str:
    """A django-ratelimit rate such as "5/15m" (count / optional number + s, m, h or d)."""
    value = env_str(name, default)
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name} must look like 5/15m or 100/h, not {value!r}")
    return value


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, not {value!r}")
    return value


def parse_keyring(name: str, raw: str, key_bytes: int | None = None) -> dict[str, bytes]:
    """Parse "id1:base64,id2:base64" (newest first) into an ordered {id: secret} mapping."""
    ring: dict[str, bytes] = {}
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not key_id.isalnum() or len(key_id) > 16:
            raise ImproperlyConfigured(
                f"{name}: each entry must be ID:BASE64 with an alphanumeric ID"
            )
        if key_id in ring:
            raise ImproperlyConfigured(f"{name}: key id {key_id!r} appears twice")
        try:
            secret = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(f"{name}: key {key_id!r} is not valid base64")
        if key_bytes is not None and len(secret) != key_bytes:
            raise ImproperlyConfigured(
                f"{name}: key {key_id!r} must be {key_bytes} bytes, not {len(secret)}"
            )
        if key_bytes is None and len(secret) < 32:
            raise ImproperlyConfigured(f"{name}: key {key_id!r} must be at least 32 bytes")
        ring[key_id] = secret
    if not ring:
        raise ImproperlyConfigured(f"{name} must hold at least one key")
    return ring


def parse_ec_public_keys(name: str, raw: str | None) -> dict[str, bytes]:
    """Parse "id1:base64,id2:base64" of ECDSA P-256 public keys (DER SubjectPublicKeyInfo, or the
    PEM text itself base64-encoded) into {id: DER}. Empty means no key (every report refused)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_der_public_key,
        load_pem_public_key,
    )

    keys: dict[str, bytes] = {}
    for entry in (raw or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not key_id or not re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", key_id):
            raise ImproperlyConfigured(f"{name}: each entry must be ID:BASE64")
        try:
            data = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
            key = (
                load_pem_public_key(data)
                if data.startswith(b"-----")
                else load_der_public_key(data)
            )
        except (ValueError, TypeError):
            raise ImproperlyConfigured(f"{name}: key {key_id!r} is not a base64 public key")
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ImproperlyConfigured(f"{name}: key {key_id!r} must be an ECDSA P-256 key")
        keys[key_id] = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return keys


def estimated_entropy_bits(value: str) -> float:
    """Shannon entropy of the value's own character distribution times its length: a rough
    upper bound that catches repeated or near-constant strings, not a proof of randomness."""
    if not value:
        return 0.0
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)
