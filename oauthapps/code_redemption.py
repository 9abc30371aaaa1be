"""The authorization-code half of StatusPool's validator: codes issued and redeemed.

* A code is issued only with PKCE S256 and only for a grant the user approved on the consent
  screen (``oauth_authorization`` in the oauthlib credentials); it is stored as a SHA-256 digest.
* It is redeemed once: its row is locked from ``validate_code`` until the token response commits
  (with the grant, the user and the user's current role, in one statement:
  ``grant_locks.lock_code_grant``); a redeemed code is kept (``redeemed_at``) so that a replay is
  recognised: it fails and revokes the token family the first redemption started.
* oauthlib and DOT then ask about the same code four more times (redirect URI, PKCE challenge and
  method, resource indicators); every answer comes from the row ``validate_code`` locked, kept on
  the oauthlib request as ``oauth_grant``, instead of reading it again.
* The tokens are saved and the code marked redeemed in one statement
  (``oauthapps.token_writes.redeem``), in the token request's transaction.
"""

from datetime import timedelta

from django.utils import timezone
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from oauthapps import services, token_writes
from oauthapps.grant_locks import lock_code_grant
from oauthapps.models import Grant


def _same_code(grant: Grant, code: str) -> bool:
    return grant.code == Grant._meta.get_field("code").get_prep_value(code)


class CodeRedemptionMixin:
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
        grant = lock_code_grant(code, client)
        if grant is None:
            return False
        if grant.redeemed_at is not None:
            services.code_replay_detected(grant=grant, actor=self.actor_for(request, client))
            return False
        authorization = grant.authorization
        if grant.is_expired() or authorization is None or not authorization.is_active:
            return False
        if grant.role is None:  # the user left the grant's account
            return False
        # The token request may still fail (PKCE verifier, redirect URI): the code burns then.
        request.burn_authorization_code = lambda: Grant.objects.filter(
            pk=grant.pk, redeemed_at__isnull=True
        ).update(redeemed_at=timezone.now())
        request.oauth_grant = grant
        request.scopes = grant.scope.split()
        request.user = grant.user
        request.oauth_authorization = authorization
        return True

    def _validated_grant(self, request, code) -> Grant | None:
        grant = getattr(request, "oauth_grant", None) if request is not None else None
        return grant if grant is not None and _same_code(grant, code) else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request=None, *a, **kw):
        grant = self._validated_grant(request, code)
        if grant is None:
            return super().confirm_redirect_uri(client_id, code, redirect_uri, client, request)
        return grant.redirect_uri_allowed(redirect_uri)

    def get_code_challenge(self, code, request):
        grant = self._validated_grant(request, code)
        if grant is None:
            return super().get_code_challenge(code, request)
        return grant.code_challenge or None

    def get_code_challenge_method(self, code, request):
        grant = self._validated_grant(request, code)
        if grant is None:
            return super().get_code_challenge_method(code, request)
        return grant.code_challenge_method or None

    def _check_and_set_request_resource(self, request):
        """RFC 8707 as DOT does it, with the validated grant instead of a fifth read of it: the
        requested resources may only narrow the grant's; without any, the grant's are inherited."""
        grant = getattr(request, "oauth_grant", None)
        if request.grant_type != "authorization_code" or grant is None:
            return super()._check_and_set_request_resource(request)
        # DOT's normalisation and URI validation, without its branch that reads the grant again
        # (taken for grant_type "authorization_code" only); its narrowing follows, unchanged.
        request.grant_type = None
        try:
            super()._check_and_set_request_resource(request)
        finally:
            request.grant_type = "authorization_code"
        granted = grant.resource or []
        if request.resource and granted:
            for resource in request.resource:
                if resource not in granted:
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=(
                            f"The requested resource '{resource}' is not allowed. Token request "
                            "cannot escalate resource permissions beyond the original "
                            "authorization grant"
                        ),
                        request=request,
                    )
        elif granted:
            self._validate_resource_uris(request, granted)
            request.resource = granted

    def _save_bearer_token(self, token, request, *args, **kwargs):
        """A code's tokens, saved with the code marked redeemed in one statement (DOT: a
        savepoint, two INSERTs, then ``invalidate_authorization_code``'s UPDATE)."""
        grant = getattr(request, "oauth_grant", None)
        if request.grant_type != "authorization_code" or grant is None:
            return super()._save_bearer_token(token, request, *args, **kwargs)
        if "scope" not in token or not token.get("refresh_token"):
            return super()._save_bearer_token(token, request, *args, **kwargs)
        self._check_and_set_request_resource(request)
        expires_in = token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        access = self._new_access_token(
            timezone.now() + timedelta(seconds=expires_in), request, token
        )
        refresh = self._new_refresh_token(request, token["refresh_token"], access, None)
        if not token_writes.redeem(grant=grant, access=access, refresh=refresh):
            raise errors.InvalidGrantError(request=request)  # rolls the tokens back
        request.code_redeemed = True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        if getattr(request, "code_redeemed", False):
            return  # with its tokens, in _save_bearer_token
        redeemed = Grant.objects.filter(
            code=code, application=request.client, redeemed_at__isnull=True
        ).update(
            redeemed_at=timezone.now(), token_family=getattr(request, "issued_token_family", None)
        )
        if not redeemed:
            raise errors.InvalidGrantError(request=request)
