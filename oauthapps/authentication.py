"""/v2 authentication for OAuth access tokens (``sp_oat_…``): the same ``Credential`` as an API key.

One indexed query per request, by the token's SHA-256 checksum, joined with its grant, account,
application and the user's *current* membership role. Nothing is cached, so a token stops working
on the very next request when its grant is revoked, the user leaves the account, or the user's
role no longer allows a scope (the scope is dropped from the credential).

A DPoP-bound token (RFC 9449, ``AccessToken.jkt``) is accepted only as ``Authorization: DPoP …``
with a ``DPoP`` proof signed by the bound key for this method and URL whose ``ath`` is the
token's hash; presented as Bearer, without a proof or with another key it is refused with
``WWW-Authenticate: DPoP error="invalid_dpop_proof"``. The proof check queries nothing (the key
thumbprint comes with the token row, the jti goes to the shared cache).
"""

from oauthapps import dpop, token_format
from oauthapps.models import AccessToken
from oauthapps.scopes import scopes_for_role
from oauthapps.token_lookup import active_access_token
from statuspool.api.credentials import Credential, CredentialKind
from statuspool.api.errors import InvalidToken


class InvalidDPoPProof(InvalidToken):
    def __init__(self, message: str):
        super().__init__(message, code="invalid_dpop_proof")
        self.extra_headers = {
            "WWW-Authenticate": (
                f'DPoP algs="{" ".join(dpop.ALGORITHMS)}", error="invalid_dpop_proof", '
                f'error_description="{message.replace(chr(34), chr(39))}"'
            )
        }


def _check_dpop(token: AccessToken, raw: str, request) -> None:
    scheme = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[0].lower()
    if not token.jkt:
        if scheme == "dpop":
            raise InvalidToken("This access token is not DPoP-bound: use the Bearer scheme.")
        return
    if scheme != "dpop":
        raise InvalidDPoPProof("This token is DPoP-bound: send it as 'Authorization: DPoP'.")
    try:
        proof = dpop.verify_proof(
            request.META.get("HTTP_DPOP"),
            method=request.method,
            url=request.build_absolute_uri(request.path),
            access_token=raw,
        )
    except dpop.DPoPError as exc:
        raise InvalidDPoPProof(str(exc)) from exc
    if proof.jkt != token.jkt:
        raise InvalidDPoPProof("The DPoP proof is signed with another key than the token's.")


def authenticate_access_token(raw: str, request) -> Credential:
    if not token_format.is_well_formed(raw, token_format.ACCESS_PREFIX):
        raise InvalidToken()  # a typo or a random string: refused without touching the database
    token = active_access_token(raw)
    if token is None:
        raise InvalidToken()
    _check_dpop(token, raw, request)
    authorization = token.authorization
    account = authorization.account
    scopes = frozenset(token.scope.split()) & scopes_for_role(token.role)
    return Credential(
        kind=CredentialKind.OAUTH_TOKEN,
        id=token.pk,
        account_id=account.pk,
        plan=account.plan,
        scopes=scopes,
        # SPEC: OAuth tokens are limited per authorization of an application in an account, so
        # two people approving the same app for one team share one bucket.
        rate_limit_identity=f"oauth:{token.application_id}:{account.pk}",
        label=token.application.name,
        expires_at=token.expires.isoformat(),
        user_id=token.user_id,
        authorization_id=authorization.pk,
    )


authenticate_access_token.accepts_dpop = True
