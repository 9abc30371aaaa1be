"""The device authorization grant (RFC 8628): user codes and the token endpoint's polling checks.

A user code is what a person reads off a terminal and types into /device, so it is short (eight
letters from RFC 8628 §6.1's twenty consonants: no vowels to spell words, no 0/O or 1/I to
confuse; ~34.6 bits) and lives 15 minutes. It is stored only as a keyed digest (HMAC-SHA256 with
the current pepper): a plain hash of 20^8 possibilities could be reversed from a leaked table in
minutes. Guessing is limited per person and per client address on the /device page
(``oauthapps.views.device``), and a code stops working once someone has entered it.

The device code the CLI polls with is long and random (oauthlib's ``generate_token``) and stored
as a SHA-256 digest, like authorization codes.
"""

import secrets

from django.conf import settings
from django.utils import timezone
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant

from oauthapps.models import DeviceGrant
from oauthapps.token_lookup import current_role
from statuspool.crypto import keyed_digest

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
SLOW_DOWN_STEP = 5  # seconds added to the interval each time a client polls too fast (§3.5)
_DIGEST_CONTEXT = "oauth-device-user-code:"


def generate_user_code() -> str:
    """``WDJB-MJHT``: what the CLI shows and the person types (dash and case do not matter)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_user_code(typed: str) -> str | None:
    """The eight letters of what a person typed, or None when it cannot be a user code."""
    letters = "".join(ch for ch in (typed or "").upper() if ch not in " -\t")
    if len(letters) != USER_CODE_LENGTH or any(ch not in ALPHABET for ch in letters):
        return None
    return letters


def user_code_digest(code: str, pepper_id: str | None = None) -> str:
    pepper_id, digest = keyed_digest(_DIGEST_CONTEXT + normalise_user_code(code), pepper_id)
    return f"{pepper_id}${digest}"


def user_code_candidates(code: str) -> list[str]:
    """The digests a stored code may have: one per pepper, so a rotation mid-flow still finds it."""
    return [user_code_digest(code, pepper_id) for pepper_id in settings.DIGEST_PEPPERS]


def pending_grant_for_code(typed: str) -> DeviceGrant | None:
    """The live, undecided device grant a typed user code names, or None."""
    if normalise_user_code(typed) is None:
        return None
    return (
        DeviceGrant.objects.select_related("application__account")
        .filter(
            user_code__in=user_code_candidates(typed),
            status=DeviceGrant.AUTHORIZATION_PENDING,
            expires__gt=timezone.now(),
            redeemed_at__isnull=True,
        )
        .first()
    )


# --- Token endpoint: grant_type=urn:ietf:params:oauth:grant-type:device_code ----------------------
def poll_status(client, device_code: str, request) -> str | None:
    """The RFC 8628 §3.5 state of a device-code poll, for oauthlib's ``validate_device_code``
    (``DeviceCodeGrant.DEVICE_CODE_*``; None = unknown or spent code → invalid_grant).

    When it answers "authorized", the oauthlib request carries the user, scopes and consent the
    person approved on /device. Runs inside the token view's transaction with the grant row
    locked, so two polls racing for the same approved code cannot both get tokens; what it
    records (the poll time, a longer interval) is committed whatever the answer.
    """
    grant = (
        DeviceGrant.objects.select_for_update(of=("self",))
        .select_related("authorization", "user")
        .filter(device_code=device_code, application=client)
        .first()
    )
    if grant is None:
        return None
    now = timezone.now()
    last_poll, grant.polled_at = grant.polled_at, now
    fields = ["polled_at"]
    status = _status(grant, now, last_poll, fields)
    grant.save(update_fields=fields)
    if status == DeviceCodeGrant.DEVICE_CODE_AUTHORIZED:
        request.user = grant.user
        request.scopes = grant.scope.split()
        request.oauth_authorization = grant.authorization
        request.device_grant = grant
    return status


def _status(grant: DeviceGrant, now, last_poll, fields: list[str]) -> str | None:
    if grant.redeemed_at is not None:
        return None
    if grant.status == DeviceGrant.EXPIRED or now >= grant.expires:
        grant.status = DeviceGrant.EXPIRED
        fields.append("status")
        return DeviceCodeGrant.DEVICE_CODE_EXPIRED
    if grant.status == DeviceGrant.DENIED:
        return DeviceCodeGrant.DEVICE_CODE_DENIED
    if grant.status == DeviceGrant.AUTHORIZATION_PENDING:
        if last_poll is not None and (now - last_poll).total_seconds() < grant.interval:
            grant.interval += SLOW_DOWN_STEP  # for this and every later poll (§3.5)
            fields.append("interval")
            return DeviceCodeGrant.DEVICE_CODE_SLOW_DOWN
        return DeviceCodeGrant.DEVICE_CODE_PENDING
    authorization = grant.authorization
    if authorization is None or not authorization.is_active or current_role(authorization) is None:
        return None  # approved, then revoked or the person left the account
    return DeviceCodeGrant.DEVICE_CODE_AUTHORIZED
