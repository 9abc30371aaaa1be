"""What the browser tests do over and over: read an authenticator, confirm with sudo, call /v2."""

import time

import pyotp
import requests

from statuspool.accounts import totp
from statuspool.accounts.models import TOTPDevice
from tests.conftest import PASSWORD

# A code of the step before the current one is accepted (clock drift) but goes stale at the next
# step boundary; only use it when the boundary is far enough away for the form to be submitted.
_PREVIOUS_STEP_MARGIN = 15


def unused_totp_code(user) -> str:
    """A code the server will accept now: every accepted code spends its step and all before it.

    The server tolerates one step of drift either way, so up to three confirmations fit in one
    30-second step (previous, current and next code), as with a phone whose clock is a little off.
    Only a fourth waits for the clock; tests are written so that it does not come to that.
    """
    device = TOTPDevice.objects.get(user=user)
    generator = pyotp.TOTP(device.secret, digits=totp.DIGITS, interval=totp.STEP_SECONDS)
    while True:
        now = time.time()
        here = totp.current_step(now)
        early_in_step = now % totp.STEP_SECONDS < _PREVIOUS_STEP_MARGIN
        step = max(device.last_used_step + 1, here - 1 if early_in_step else here)
        if step <= here + totp.TOLERATED_STEPS:
            return generator.generate_otp(step)
        time.sleep((here + 1) * totp.STEP_SECONDS - now + 0.05)


def fill_sudo(page, user, *, password=PASSWORD, code=None):
    """Fill the "Confirm it's you" fieldset: the password and a fresh authenticator code."""
    page.locator("#id_password").fill(password)
    page.locator("#id_otp_code").fill(code if code is not None else unused_totp_code(user))


def v2(live_server, bearer: str, path: str = "/v2/credential") -> requests.Response:
    return requests.get(
        f"{live_server.url}{path}", headers={"Authorization": f"Bearer {bearer}"}, timeout=10
    )
