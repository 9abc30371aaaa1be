"""DOT's request validator, adapted to StatusPool's rules.

* Client secrets are checked with the fast keyed hasher (``oauthapps.hashers``); a secret stored in
  the clear is never accepted.
* Every code and token is tied to the ``Authorization`` (user + application + account) the user
  approved on the consent screen: the consent view passes it in the oauthlib credentials as
  ``oauth_authorization``, and the code / refresh token carries it to the tokens.
* Authorization codes (PKCE S256, single use, replay revokes the first redemption's tokens):
  ``oauthapps.code_redemption``. Refresh tokens (lifetime, reuse detection, rotation):
  ``oauthapps.refresh_rotation``. Each row a token request needs is read once, locked
  (``oauthapps.grant_locks``), and the whole request is one transaction (TokenView).
* ``introspect_token`` answers RFC 7662 for tokens issued to the calling client only, with
  ``cnf.jkt`` for a DPoP-bound token.
* DPoP (RFC 9449): the grants' pre-token hook leaves the proven key's thumbprint in
  ``request.dpop_jkt`` (``oauthapps.server``); the access token is bound to it, and so is the
  refresh token of a public client, which must then prove the same key to refresh.
* An application's allowed-scopes ceiling is enforced wherever scopes are validated.
"""

import calendar
import uuid
from types import SimpleNamespace

from django.db import transaction
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator

from audit.models import ActorKind
from audit.services import Actor
from oauthapps import device, services, token_format
from oauthapps.code_redemption import CodeRedemptionMixin
from oauthapps.hashers import CLIENT_SECRET_HASHER, is_encoded
from oauthapps.models import AccessToken, RefreshToken
from oauthapps.refresh_rotation import RefreshRotationMixin, refresh_expires
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


class StatusPoolValidator(CodeRedemptionMixin, RefreshRotationMixin, OAuth2Validator):
    def actor_for(self, request, application) -> Actor:
        return _actor_for(request, application)

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

    # --- tokens ----------------------------------------------------------------------------------
    def _new_access_token(self, expires, request, token, source_refresh_token=None):
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
        return access_token

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = self._new_access_token(expires, request, token, source_refresh_token)
        access_token.save()
        return access_token

    def _new_refresh_token(self, request, refresh_token_code, access_token, previous):
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
        request.issued_token_family = token_family
        return refresh_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous):
        refresh_token = self._new_refresh_token(request, refresh_token_code, access_token, previous)
        refresh_token.save()
        return refresh_token

    # --- device code (RFC 8628) -------------------------------------------------------------------
    def validate_device_code(self, client_id, code, request, *args, **kwargs):
        return device.poll_status(request.client, code, request)

    def save_bearer_token(self, token, request, *args, **kwargs):
        # DOT opens a savepoint here (two statements). TokenView runs the whole request in one
        # transaction, which a failure rolls back whole: the tokens are saved in it directly.
        with transaction.atomic(savepoint=False):
            self._save_bearer_token(token, request, *args, **kwargs)
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

    # --- revocation (RFC 7009) -------------------------------------------------------------------
    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        live = _live_tokens(token, request.client)
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        for kind, revoked in live:
            services.token_revoked_by_client(
                token=revoked, token_type=kind, actor=self.actor_for(request, request.client)
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
            expires = refresh_expires(refresh)
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
