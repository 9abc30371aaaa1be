"""The oauthlib server StatusPool runs: authorization code + refresh token, nothing else.

oauthlib's all-in-one ``Server`` also speaks the implicit, password, client-credentials and
device grants. RFC 9700 forbids the first two and we offer none of the others, so they are not
merely disabled per application: they do not exist here, and a request for them gets
``unsupported_response_type`` / ``unsupported_grant_type`` whatever a client row says.
PKCE accepts S256 only (RFC 9700 §2.1.1); ``plain`` is refused when the authorization request is
validated, before any consent is shown.
"""

from oauthlib.oauth2 import BearerToken
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    IntrospectEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant, RefreshTokenGrant
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256


class S256AuthorizationCodeGrant(AuthorizationCodeGrant):
    _code_challenge_methods = {"S256": code_challenge_method_s256}


class AuthorizationCodeServer(
    AuthorizationEndpoint, IntrospectEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint
):
    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        **_unused,  # DOT passes device-flow options every server might want; we have no device flow
    ):
        self.auth_grant = S256AuthorizationCodeGrant(request_validator)
        self.refresh_grant = RefreshTokenGrant(request_validator)
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
            },
            default_token_type=self.bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})
        RevocationEndpoint.__init__(self, request_validator)
        IntrospectEndpoint.__init__(self, request_validator)
