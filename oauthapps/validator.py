"""DOT's request validator, adapted to StatusPool's rules.

* Client secrets are checked with the fast keyed hasher (``oauthapps.hashers``); a secret stored in
  the clear is never accepted.
* Every code and token is tied to the ``Authorization`` (user + application + account) the user
  approved on the consent screen: the consent view passes it in the oauthlib credentials as
  ``oauth_authorization``, and the code / refresh token carries it to the token_format.
* An authorization code is kept after redemption (marked ``redeemed_at``) so a replay is
  recognised: it fails and revokes the token family the first redemption started.
* A refresh token is refused after 30 days from its issue, when its grant was revoked, or when the
  user no longer belongs to the grant's account; a spent one presented again revokes its family
  (DOT's reuse protection) and is audited as ``oauth.refresh_reuse_detected``.
* ``introspect_token`` answers RFC 7662 for tokens issued to the calling client only, with
  ``cnf.jkt`` for a DPoP-bound token.
* DPoP (RFC 9449): the grants' pre-token hook leaves the proven key's thumbprint in
  ``request.dpop_jkt`` (``oauthapps.server``); the access token is bound to it, and so is the
  refresh token of a public client, which must then prove the same key to refresh.
* An application's allowed-scopes ceiling is enforced wherever scopes are validated.
"""

import calendar
import hmac
import uuid
from datetime import timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from audit.models import ActorKind
from audit.services import Actor
from oauthapps import device, services, token_format
from oauthapps.hashers import CLIENT_SECRET_HASHER, is_encoded
from oauthapps.models import AccessToken, Authorization, Grant, RefreshToken
from oauthapps.scopes import scopes_for_role
from oauthapps.token_lookup import current_role, live_access_token
from statuspool.client_ip import client_ip
from statuspool.scopes import order_scopes


def _actor_for(request, application) -> Actor:
    """The client application acting at the token endpoint, seen from its network address."""
    meta = SimpleNamespace(META=dict(request.headers))
    return Actor(
        kind=ActorKind.OAUTH_APP,
        label=application.name if application else "",
        ip=client_ip(meta),
        user_agent=request.headers.get("HTTP_USER_AGENT", ""),
    )


def _is_public(client) -> bool:
    return client.client_type == client.CLIENT_PUBLIC


def _refresh_lifetime() -> timedelta:
    return timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)


def _lock_refresh_token(checksum: str) -> RefreshToken | None:
    """The presented refresh token, read again after locking its grant until the token response
    commits (TokenView runs in one transaction).

    Every exchange, reuse revocation and grant revocation of one grant takes the grant's row lock
    first, so they happen one after the other, on every instance sharing the database: of N
    parallel redemptions one wins, the others then see the token spent (reuse), and nothing is
    issued into a family or grant that was revoked meanwhile. One lock order (grant, then
    tokens, as ``authorization_revoke`` does) keeps it free of deadlocks.
    """
    found = (
        RefreshToken.objects.filter(token_checksum=checksum)
        .order_by(F("revoked").desc(nulls_first=True))
        .values_list("pk", "authorization_id")
        .first()
    )
    if found is None:
        return None
    pk, authorization_id = found
    if authorization_id is not None:
        list(Authorization.objects.select_for_update().filter(pk=authorization_id).values("pk"))
    return (
        RefreshToken.objects.select_for_update(of=("self",))
        .select_related("authorization", "application")
        .filter(pk=pk)
        .first()
    )


def _refresh_expires(refresh: RefreshToken):
    """30 days from its issue, and never beyond the family's absolute lifetime (RFC 9700 §4.14:
    OAUTH_REFRESH_FAMILY_MAX_AGE_DAYS from the consent whose code started the family)."""
    family_start = refresh.family_created_at or refresh.created
    family_end = family_start + timedelta(days=settings.OAUTH_REFRESH_FAMILY_MAX_AGE_DAYS)
    return min(refresh.created + _refresh_lifetime(), family_end)


def _live_tokens(token: str, client) -> list[tuple[str, object]]:
    """The client's own unrevoked tokens with this value (what /oauth/revoke will end)."""
    if client is None or getattr(client, "pk", None) is None:
        return []
    checksum = token_format.token_checksum(token)
    found = [
        ("access_token", item)
        for item in AccessToken.objects.filter(token_checksum=checksum, application=client)
    ]
    found += [
        ("refresh_token", item)
        for item in RefreshToken.objects.filter(
            token_checksum=checksum, application=client, revoked__isnull=True
        )
    ]
    return found


# What an access token's introspection says beyond the credential fields (token_lookup).
_INTROSPECTED = (
    "created",
    "application__client_id",
    "user__email",
    "authorization__account__name",
)


def _access_token_claims(found: dict) -> dict:
    allowed = set(found["scope"].split()) & scopes_for_role(found["role"])
    return {
        "scope": " ".join(order_scopes(allowed)),
        "client_id": found["application__client_id"],
        "username": found["user__email"],
        "sub": str(found["user_id"]),
        "token_type": "Bearer",  # nosec B105  # a token type name, not a secret
        "exp": calendar.timegm(found["expires"].utctimetuple()),
        "iat": calendar.timegm(found["created"].utctimetuple()),
        "account_id": found["authorization__account_id"],
        "account_name": found["authorization__account__name"],
    }


class StatusPoolValidator(OAuth2Validator):
    def _load_application(self, client_id, request):
        # PostgreSQL text cannot hold NUL: DOT expects the driver to refuse such a lookup with a
        # ValueError, psycopg 3 raises DataError from the query (a 500). No client has one.
        if client_id is not None and "\x00" in str(client_id):
            return None
        return super()._load_application(client_id, request)

    # --- client authentication -------------------------------------------------------------------
    def _check_secret(self, provided_secret, stored_secret):
        if not provided_secret or not stored_secret or not is_encoded(stored_secret):
            return False
        return CLIENT_SECRET_HASHER.verify(provided_secret, stored_secret)

    # --- authorization codes ---------------------------------------------------------------------
    def _create_authorization_code(self, request, code, expires=None):
        if request.code_challenge_method != "S256" or not request.code_challenge:
            raise errors.InvalidRequestError(description="PKCE with S256 is required.")
        authorization = getattr(request, "oauth_authorization", None)
        if authorization is None:
            raise errors.AccessDeniedError(description="No approved grant for this request.")
        expires = expires or timezone.now() + timedelta(
            seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS
        )
        return Grant.objects.create(
            application=request.client,
            user=request.user,
            authorization=authorization,
            code=code["code"],
            expires=expires,
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
        )

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        # Locked until the token response commits, so two concurrent redemptions cannot both pass.
        grant = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("authorization", "user", "application")
            .filter(code=code, application=client)
            .first()
        )
        if grant is None:
            return False
        if grant.redeemed_at is not None:
            services.code_replay_detected(grant=grant, actor=_actor_for(request, client))
            return False
        authorization = grant.authorization
        if grant.is_expired() or authorization is None or not authorization.is_active:
            return False
        if current_role(authorization) is None:
            return False
        # The token request may still fail (PKCE verifier, redirect URI): the code burns then.
        request.burn_authorization_code = lambda: Grant.objects.filter(
            pk=grant.pk, redeemed_at__isnull=True
        ).update(redeemed_at=timezone.now())
        request.scopes = grant.scope.split()
        request.user = grant.user
        request.oauth_authorization = authorization
        return True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        redeemed = Grant.objects.filter(
            code=code, application=request.client, redeemed_at__isnull=True
        ).update(
            redeemed_at=timezone.now(), token_family=getattr(request, "issued_token_family", None)
        )
        if not redeemed:
            raise errors.InvalidGrantError(request=request)

    # --- tokens ----------------------------------------------------------------------------------
    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            application=request.client,
            source_refresh_token=source_refresh_token,
            authorization=request.oauth_authorization,
            resource=getattr(request, "resource", []),
            jkt=getattr(request, "dpop_jkt", ""),
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous):
        token_family = previous.token_family if previous else uuid.uuid4()
        family_created_at = (
            (previous.family_created_at or previous.created) if previous else timezone.now()
        )
        refresh_token = RefreshToken(
            family_created_at=family_created_at,
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=token_family,
            authorization=request.oauth_authorization,
            resource=getattr(request, "resource", []),
            jkt=getattr(request, "dpop_jkt", "") if _is_public(request.client) else "",
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        request.issued_token_family = token_family
        return refresh_token

    # --- device code (RFC 8628) -------------------------------------------------------------------
    def validate_device_code(self, client_id, code, request, *args, **kwargs):
        return device.poll_status(request.client, code, request)

    def save_bearer_token(self, token, request, *args, **kwargs):
        super().save_bearer_token(token, request, *args, **kwargs)
        if getattr(request, "dpop_jkt", ""):
            token["token_type"] = "DPoP"  # nosec B105  # a token type name, not a secret
        device_grant = getattr(request, "device_grant", None)
        if device_grant is not None:  # a device code buys one set of tokens
            device_grant.redeemed_at = timezone.now()
            device_grant.save(update_fields=["redeemed_at"])

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        return client.scopes_within_ceiling(scopes)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not token_format.is_well_formed(refresh_token, token_format.REFRESH_PREFIX):
            return False
        presented = _lock_refresh_token(token_format.token_checksum(refresh_token))
        if presented is None:
            return False
        authorization = presented.authorization
        # A spent token whose family still has a live member was copied (or redeemed twice in
        # parallel: the loser of that race is reuse too, RFC 9700 §4.14.2): DOT revokes the
        # family below. (Once the family is dead, or the grant revoked, it is merely invalid.)
        reused = (
            presented.revoked is not None
            and presented.token_family is not None
            and presented.application_id == client.pk
            and RefreshToken.objects.filter(
                token_family=presented.token_family, revoked__isnull=True
            ).exists()
        )
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            if reused:
                services.refresh_reuse_detected(
                    refresh_token=presented, actor=_actor_for(request, client)
                )
            return False
        if _refresh_expires(presented) <= timezone.now():
            return False
        if presented.jkt and not hmac.compare_digest(presented.jkt, request.dpop_jkt or ""):
            return False  # bound to a DPoP key the caller did not prove it holds
        if authorization is None or not authorization.is_active:
            return False
        if current_role(authorization) is None:
            return False
        request.oauth_authorization = authorization
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        """What the refreshed tokens (and the response's ``scope``) carry: the original scopes
        the grant's user may still hold now — after a demotion, not the old ones."""
        original = super().get_original_scopes(refresh_token, request, *args, **kwargs)
        original = original.split() if isinstance(original, str) else list(original)
        role = current_role(request.oauth_authorization)
        allowed = scopes_for_role(role) if role else set()
        return " ".join(order_scopes([scope for scope in original if scope in allowed]))

    # --- revocation (RFC 7009) -------------------------------------------------------------------
    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        live = _live_tokens(token, request.client)
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        for kind, revoked in live:
            services.token_revoked_by_client(
                token=revoked, token_type=kind, actor=_actor_for(request, request.client)
            )

    # --- introspection (RFC 7662) ----------------------------------------------------------------
    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        if token_format.is_well_formed(token, token_format.ACCESS_PREFIX):
            found = live_access_token(token_format.token_checksum(token), *_INTROSPECTED)
            if found is None or found["application_id"] != request.client.pk:
                return None
            claims = _access_token_claims(found)
            if found["jkt"]:
                claims |= {"token_type": "DPoP", "cnf": {"jkt": found["jkt"]}}  # nosec B105  # a token type name, not a secret
            return claims
        if token_format.is_well_formed(token, token_format.REFRESH_PREFIX):
            refresh = (
                RefreshToken.objects.select_related("authorization__account", "user")
                .filter(token_checksum=token_format.token_checksum(token), revoked__isnull=True)
                .filter(application=request.client)
                .first()
            )
            if refresh is None or refresh.authorization is None:
                return None
            authorization = refresh.authorization
            role = current_role(authorization)
            expires = _refresh_expires(refresh)
            if not authorization.is_active or role is None or expires <= timezone.now():
                return None
            allowed = set(authorization.scopes) & scopes_for_role(role)
            claims = self._claims(refresh, authorization, allowed, "refresh_token", expires)
            if refresh.jkt:
                claims["cnf"] = {"jkt": refresh.jkt}
            return claims
        return None

    @staticmethod
    def _claims(token, authorization, scopes, token_type, expires) -> dict:
        return {
            "scope": " ".join(order_scopes(scopes)),
            "client_id": token.application.client_id,
            "username": token.user.email,
            "sub": str(token.user_id),
            "token_type": "Bearer" if token_type == "access_token" else "refresh_token",  # nosec B105  # a field name or label, not a secret
            "exp": calendar.timegm(expires.utctimetuple()),
            "iat": calendar.timegm(token.created.utctimetuple()),
            "account_id": authorization.account_id,
            "account_name": authorization.account.name,
        }
