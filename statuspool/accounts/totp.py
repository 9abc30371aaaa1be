"""TOTP (RFC 6238): 6 digits, 30-second steps, one step of clock drift tolerated either way.

Every accepted code moves ``TOTPDevice.last_used_step`` forward, so a code (or any code of an earlier
step) works once: an attacker who watches a code being typed cannot replay it, not even in the same
30 seconds. The step is advanced with a conditional UPDATE under ``select_for_update`` so two
requests racing with one code cannot both win.
"""

import enum
import hmac
import re
import time

import pyotp
import segno
from django.db import transaction
from django.utils.safestring import mark_safe

from statuspool.accounts.models import TOTPDevice

ISSUER = "StatusPool"
DIGITS = 6
STEP_SECONDS = 30
TOLERATED_STEPS = 1  # ±30 s: phones' clocks drift, and people type slowly
# ASCII digits only: \d also matches "١٢٣٤٥٦", which hmac.compare_digest refuses with a TypeError.
_CODE_RE = re.compile(r"^[0-9]{6}$")


class Check(enum.Enum):
    ACCEPTED = "accepted"
    INVALID = "invalid"
    REPLAYED = "replayed"
    NO_DEVICE = "no_device"


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, the size RFC 4226 recommends


def normalize(code: str) -> str:
    """Authenticator apps show "123 456"; people paste it with the space."""
    return re.sub(r"[\s-]", "", code or "")


def looks_like_code(code: str) -> bool:
    return bool(_CODE_RE.match(normalize(code)))


def provisioning_uri(*, secret: str, email: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=email, issuer_name=ISSUER
    )


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (no image request, nothing leaves the page)."""
    qr = segno.make(uri, error="m", micro=False)
    svg = qr.svg_inline(
        scale=5, omitsize=True, dark="#0d1b2a", title="QR code for your authenticator app"
    )
    return mark_safe(svg.replace("<svg ", '<svg role="img" aria-label="QR code" ', 1))  # noqa: S308  # nosec B308 B703  # segno SVG of a TOTP provisioning URI we built, no user markup


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The step (within ±1 of now) whose code this is, or None. Compared in constant time."""
    code = normalize(code)
    if not _CODE_RE.match(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    here = current_step(now)
    found = None
    for step in range(here - TOLERATED_STEPS, here + TOLERATED_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def verify_and_consume(user, code: str, now: float | None = None) -> Check:
    """Check a code against the user's confirmed device and spend it (and every earlier step)."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=False)
            .first()
        )
        if device is None:
            return Check.NO_DEVICE
        step = matching_step(device.secret, code, now)
        if step is None:
            return Check.INVALID
        if step <= device.last_used_step:
            return Check.REPLAYED
        # Conditional on the old value: even without row locks (SQLite) only one request wins.
        won = TOTPDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
            last_used_step=step
        )
        return Check.ACCEPTED if won else Check.REPLAYED


MESSAGES = {
    Check.INVALID: "That code is not valid. Check the time on your phone and try the current code.",
    Check.REPLAYED: "That code has already been used. Wait for your app to show a new one.",
    Check.NO_DEVICE: "Two-factor authentication is not set up for this account.",
}
