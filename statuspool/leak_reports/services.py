"""Process a leaked-credential report: revoke each real credential it names, say which were real.

Every token costs the same: one shape/checksum check, one keyed digest and one indexed query,
whether it is a live key, a revoked one, an OAuth token, a random string or not ours at all, so
neither timing nor the database load tells a caller more than the label the protocol returns.
"""

import hashlib
import logging
from dataclasses import dataclass

from apikeys import services as apikey_services
from apikeys.models import ApiKey
from audit.services import Actor
from oauthapps import services as oauth_services
from oauthapps import token_format as oauth_format
from oauthapps.models import AccessToken, RefreshToken
from statuspool import api_key_format
from statuspool.crypto import digest_matches, keyed_digest

logger = logging.getLogger(__name__)

TRUE_POSITIVE = "true_positive"
FALSE_POSITIVE = "false_positive"
# The regular expression secret scanners use for every StatusPool credential (README).
SCANNER_PATTERN = r"\bsp_(?:live|oat|ort)_[0-9A-Za-z]{40}\b"


@dataclass(frozen=True)
class LeakedItem:
    token: str
    type: str = ""
    url: str = ""
    source: str = ""


def token_hash(token: str) -> str:
    """What the feedback carries instead of the token itself (GitHub's ``token_hash``)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _api_key(token: str) -> ApiKey | None:
    well_formed = api_key_format.is_well_formed(token)
    public_id = api_key_format.public_id_of(token) if well_formed else ""
    key = ApiKey.objects.select_related("account", "created_by").filter(public_id=public_id).first()
    if key is None:
        keyed_digest(token)  # the work a match would have cost
        return None
    return key if digest_matches(token, key.pepper_id, key.digest) else None


def _oauth(token: str, model, prefix: str):
    checksum = oauth_format.token_checksum(token)
    keyed_digest(token)
    if not oauth_format.is_well_formed(token, prefix):
        checksum = ""  # still one query, for an empty checksum nothing has
    return (
        model.objects.select_related("authorization")
        .filter(token_checksum=checksum, authorization__isnull=False)
        .first()
    )


def _revoke(item: LeakedItem, actor: Actor, dry_run: bool = False) -> bool:
    """True when the token is (or was) one of our credentials; revokes it if still live."""
    token = item.token
    if token.startswith(oauth_format.ACCESS_PREFIX) or token.startswith(
        oauth_format.REFRESH_PREFIX
    ):
        is_access = token.startswith(oauth_format.ACCESS_PREFIX)
        model, prefix = (
            (AccessToken, oauth_format.ACCESS_PREFIX)
            if is_access
            else (RefreshToken, oauth_format.REFRESH_PREFIX)
        )
        found = _oauth(token, model, prefix)
        if found is None:
            return False
        if dry_run:
            return True
        oauth_services.authorization_revoke_leaked(
            authorization=found.authorization,
            actor=actor,
            url=item.url,
            source=item.source,
            token_kind="access token" if is_access else "refresh token",
        )
        return True
    key = _api_key(token)
    if key is None:
        return False
    if dry_run:
        return True
    apikey_services.apikey_revoke_leaked(key=key, actor=actor, url=item.url, source=item.source)
    return True


def leak_report_process(
    *, items: list[LeakedItem], actor: Actor, dry_run: bool = False
) -> list[dict]:
    """Revoke what the report names; returns the partner feedback, one entry per token.

    ``dry_run`` only says which tokens are ours and changes nothing."""
    feedback = []
    for item in items:
        real = _revoke(item, actor, dry_run)
        feedback.append(
            {
                "token_hash": token_hash(item.token),
                "token_type": item.type,
                "label": TRUE_POSITIVE if real else FALSE_POSITIVE,
            }
        )
    found = sum(entry["label"] == TRUE_POSITIVE for entry in feedback)
    logger.info("leak report from %s: %d token(s), %d ours", actor.label, len(items), found)
    return feedback
