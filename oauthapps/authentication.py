"""/v2 authentication for OAuth access tokens (``sp_oat_…``): the same ``Credential`` as an API key.

One indexed query per request, by the token's SHA-256 checksum, joined with its grant, account,
application and the user's *current* membership role. Nothing is cached, so a token stops working
on the very next request when its grant is revoked, the user leaves the account, or the user's
role no longer allows a scope (the scope is dropped from the credential).
"""

from oauthapps import token_format
from oauthapps.scopes import scopes_for_role
from oauthapps.token_lookup import active_access_token
from statuspool.api.credentials import Credential, CredentialKind
from statuspool.api.errors import InvalidToken


def authenticate_access_token(raw: str, request) -> Credential:
    if not token_format.is_well_formed(raw, token_format.ACCESS_PREFIX):
        raise InvalidToken()  # a typo or a random string: refused without touching the database
    token = active_access_token(raw)
    if token is None:
        raise InvalidToken()
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
