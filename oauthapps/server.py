"""The oauthlib server StatusPool runs: authorization code, refresh token and device code.

oauthlib's all-in-one ``Server`` also speaks the implicit, password and client-credentials
grants. RFC 9700 forbids the first two and we offer none of the others, so they are not merely
disabled per application: they do not exist here, and a request for them gets
``unsupported_response_type`` / ``unsupported_grant_type`` whatever a client row says.
PKCE accepts S256 only (RFC 9700 §2.1.1); ``plain`` is refused when the authorization request is
validated, before any consent is shown.

The device authorization endpoint (RFC 8628) is oauthlib's, on the same server; polls with the
device code go through oauthlib's ``DeviceCodeGrant``, which asks our validator for the code's
state (``validate_device_code`` → ``oauthapps.device.poll_status``). Every grant first reads an optional DPoP proof
(``dpop_proof_of_token_request``) and, once the client is known, insists on one when the
application requires sender-constrained tokens (``dpop_required_by_client``).
"""

import re

from django.conf import settings
from oauthlib.oauth2 import BearerToken
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    IntrospectEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant, RefreshTokenGrant
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.oauth2.rfc8628.endpoints import DeviceAuthorizationEndpoint
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant

from oauthapps import device, dpop
from oauthapps.backend import REQUEST_URL_HEADER

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

# RFC 7636 §4.1-4.2: 43 to 128 characters of the unreserved set (an S256 challenge is 43).
PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class S256AuthorizationCodeGrant(AuthorizationCodeGrant):
    _code_challenge_methods = {"S256": code_challenge_method_s256}

    def validate_authorization_request(self, request):
        scopes, info = super().validate_authorization_request(request)
        # After client and redirect URI are validated: an error redirects back to the client.
        if not PKCE_VALUE.match(request.code_challenge or ""):
            raise errors.InvalidRequestError(
                description="code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~",
                request=request,
            )
        return scopes, info

    def validate_token_request(self, request):
        try:
            return super().validate_token_request(request)
        except errors.OAuth2Error:
            # validate_code() found the code (and set this) before PKCE or the redirect URI
            # failed: the code is spent, so a guessed or stolen verifier gets one try only.
            burn = getattr(request, "burn_authorization_code", None)
            if burn is not None:
                burn()
            raise


class InvalidDPoPProofError(errors.OAuth2Error):
    error = "invalid_dpop_proof"


class UseDPoPNonceError(errors.OAuth2Error):
    error = "use_dpop_nonce"

    @property
    def headers(self):
        return {"DPoP-Nonce": dpop.new_nonce(), "Cache-Control": "no-store"}


def dpop_proof_of_token_request(request) -> None:
    """Read the DPoP header if there is one: ``request.dpop_jkt`` is the key it proves (or "")."""
    request.dpop_jkt = ""
    proof = request.headers.get("HTTP_DPOP")
    if proof is None:
        return
    try:
        verified = dpop.verify_proof(
            proof,
            method=request.http_method,
            url=request.headers.get(REQUEST_URL_HEADER, ""),
            require_nonce=settings.OAUTH_DPOP_NONCE_REQUIRED,
        )
    except dpop.NonceRequired as exc:
        raise UseDPoPNonceError(description=str(exc), request=request) from exc
    except dpop.DPoPError as exc:
        raise InvalidDPoPProofError(description=str(exc), request=request) from exc
    request.dpop_jkt = verified.jkt


def dpop_required_by_client(request) -> None:
    if request.client.require_dpop and not request.dpop_jkt:
        raise InvalidDPoPProofError(
            description="This application requires sender-constrained tokens: send a DPoP proof.",
            request=request,
        )


class AuthorizationCodeServer(
    AuthorizationEndpoint,
    IntrospectEndpoint,
    TokenEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    DeviceAuthorizationEndpoint,
):
    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        interval=5,
        **_unused,  # DOT passes options (verification URIs, hooks) we set ourselves below
    ):
        hooks = {
            "pre_token": [dpop_proof_of_token_request],
            "post_token": [dpop_required_by_client],
        }
        self.auth_grant = S256AuthorizationCodeGrant(request_validator, **hooks)
        self.refresh_grant = RefreshTokenGrant(request_validator, **hooks)
        self.device_grant = DeviceCodeGrant(request_validator, **hooks)
        self.bearer = BearerToken(
            request_validator, token_generator, token_expires_in, refresh_token_generator
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": self.auth_grant},
            default_token_type=self.bearer,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={
                "authorization_code": self.auth_grant,
                "refresh_token": self.refresh_grant,
                DEVICE_CODE_GRANT: self.device_grant,
            },
            default_token_type=self.bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})  # nosec B106  # a token type name, not a secret
        RevocationEndpoint.__init__(self, request_validator)
        IntrospectEndpoint.__init__(self, request_validator)
        # verification_uri is absolute and depends on the host asked; the view fills it in.
        DeviceAuthorizationEndpoint.__init__(
            self,
            request_validator,
            verification_uri="/device",
            expires_in=settings.OAUTH_DEVICE_CODE_EXPIRES_SECONDS,
            interval=interval,
            user_code_generator=device.generate_user_code,
        )
