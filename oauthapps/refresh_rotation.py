"""The refresh-token half of StatusPool's validator: validation, reuse detection and rotation.

* The presented token is read once, after its grant's row lock (``grant_locks.lock_refresh_token``:
  with its access token, user, grant and the user's current role), and every later question of
  the request is answered from that read.
* A refresh token is refused 30 days after its issue, past its family's absolute lifetime, when
  its grant was revoked, when the user no longer belongs to the grant's account, and when it is
  DPoP-bound to a key the caller did not prove; DOT's own rules hold as well (another client's
  token, an orphan without its access token, ``REFRESH_TOKEN_EXPIRE_SECONDS`` after its access
  token expired).
* A spent (revoked) token presented again revokes its whole family (DOT's reuse protection) and,
  when the family still had a live member, is audited as ``oauth.refresh_reuse_detected``.
  ``REFRESH_TOKEN_GRACE_PERIOD_SECONDS`` is 0: a spent token is never honoured again (a grace
  period would have to return the same tokens twice, which hashed storage cannot).
* Rotation revokes the presented token and its access token and issues the new pair in one
  statement (``oauthapps.token_writes``), inside the token request's one transaction.
"""

import hmac
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import refresh_token_expire_timedelta
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749.errors import FatalClientError

from oauthapps import services, token_format, token_writes
from oauthapps.grant_locks import lock_refresh_token
from oauthapps.models import RefreshToken
from oauthapps.scopes import scopes_for_role
from statuspool.scopes import order_scopes


def refresh_expires(refresh: RefreshToken):
    """30 days from its issue, and never beyond the family's absolute lifetime (RFC 9700 §4.14:
    OAUTH_REFRESH_FAMILY_MAX_AGE_DAYS from the consent whose code started the family)."""
    family_start = refresh.family_created_at or refresh.created
    family_end = family_start + timedelta(days=settings.OAUTH_REFRESH_FAMILY_MAX_AGE_DAYS)
    lifetime = timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)
    return min(refresh.created + lifetime, family_end)


def _past_dots_expiry(presented: RefreshToken, now) -> bool:
    """DOT's rule: an orphan (no access token) is dead, and a live one dies
    REFRESH_TOKEN_EXPIRE_SECONDS after its access token expired."""
    if presented.access_token is None:
        return True
    delta = refresh_token_expire_timedelta()
    return bool(delta) and presented.access_token.expires + delta <= now


class RefreshRotationMixin:
    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not token_format.is_well_formed(refresh_token, token_format.REFRESH_PREFIX):
            return False
        presented = lock_refresh_token(token_format.token_checksum(refresh_token))
        if presented is None:
            return False
        if presented.application_id == client.pk:
            presented.application = client
        if presented.revoked is not None:
            self._spent_refresh_token_presented(presented, client, request)
            return False
        now = timezone.now()
        if presented.application_id != client.pk or _past_dots_expiry(presented, now):
            return False
        if refresh_expires(presented) <= now:
            return False
        if presented.jkt and not hmac.compare_digest(presented.jkt, request.dpop_jkt or ""):
            return False  # bound to a DPoP key the caller did not prove it holds
        authorization = presented.authorization if presented.authorization_id else None
        if authorization is None or not authorization.is_active:
            return False
        role = getattr(presented, "role", None)
        if role is None:  # the user left the grant's account
            return False
        request.user = presented.user
        # The raw value, not the stored one: hashed at rest, the column is blank (DOT does so).
        request.refresh_token = refresh_token
        request.refresh_token_instance = presented
        request.oauth_authorization = authorization
        request.grant_role = role
        return True

    def _spent_refresh_token_presented(self, presented, client, request) -> None:
        """A spent token whose family still has a live member was copied (or redeemed twice in
        parallel: the loser of that race is reuse too, RFC 9700 §4.14.2): the family is revoked
        and the reuse audited. (Once the family is dead, or the grant revoked, it is merely
        invalid.)"""
        if not (oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION and presented.token_family):
            return
        reused = (
            presented.application_id == client.pk
            and RefreshToken.objects.filter(
                token_family=presented.token_family, revoked__isnull=True
            ).exists()
        )
        RefreshToken.revoke_family(presented.token_family)
        if reused:
            services.refresh_reuse_detected(
                refresh_token=presented, actor=self.actor_for(request, client)
            )

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        """What the refreshed tokens (and the response's ``scope``) carry: the original scopes
        the grant's user may still hold now — after a demotion, not the old ones."""
        original = super().get_original_scopes(refresh_token, request, *args, **kwargs)
        original = original.split() if isinstance(original, str) else list(original)
        allowed = scopes_for_role(getattr(request, "grant_role", None))
        return " ".join(order_scopes([scope for scope in original if scope in allowed]))

    def _save_bearer_token(self, token, request, *args, **kwargs):
        presented = getattr(request, "refresh_token_instance", None)
        rotating = (
            request.grant_type == "refresh_token"
            and isinstance(presented, RefreshToken)
            and presented.revoked is None
            and token.get("refresh_token")
            and self.rotate_refresh_token(request)
        )
        if not rotating:
            return super()._save_bearer_token(token, request, *args, **kwargs)
        if "scope" not in token:
            raise FatalClientError("Failed to renew access token: missing scope")
        self._check_and_set_request_resource(request)  # from the presented token, no query
        expires_in = token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        # DOT would first look for an access token already minted from the presented one (its
        # grace period): none can exist, the presented token is live and locked since validation.
        access = self._new_access_token(
            timezone.now() + timedelta(seconds=expires_in),
            request,
            token,
            source_refresh_token=presented,
        )
        refresh = self._new_refresh_token(request, token["refresh_token"], access, presented)
        token_writes.rotate(presented=presented, access=access, refresh=refresh)
        request.refresh_token_instance = None
