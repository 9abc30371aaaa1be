"""/v2 authentication for OAuth access tokens (``sp_oat_…``): the same ``Credential`` as an API key.

One indexed query per request, by the token's SHA-256 checksum, joined with its grant, account,
application and the user's *current* membership role. Nothing is cached, so a token stops working
on the very next request when its grant is revoked, the user leaves the account, or the user's
role no longer allows a scope (the scope is dropped from the credential).
"""

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from oauthapps import token_format
from oauthapps.models import AccessToken
from oauthapps.scopes import scopes_for_role
from statuspool.accounts.models import Membership
from statuspool.api.credentials import Credential, CredentialKind
from statuspool.api.errors import InvalidToken


def _role_of_grant_user():
    return Subquery(
        Membership.objects.filter(
            user_id=OuterRef("authorization__user_id"),
            account_id=OuterRef("authorization__account_id"),
        ).values("role")[:1]
    )


def active_access_token(raw: str) -> AccessToken | None:
    """The live token for ``raw`` with ``.role`` annotated, or None (unknown, expired, revoked,
    user inactive or no longer a member of the grant's account)."""
    token = (
        AccessToken.objects.select_related("authorization__account", "application", "user")
        .annotate(role=_role_of_grant_user())
        .filter(
            token_checksum=token_format.token_checksum(raw),
            expires__gt=timezone.now(),
            authorization__revoked_at__isnull=True,
            user__is_active=True,
        )
        .first()
    )
    if token is None or token.role is None:
        return None
    return token


def current_role(authorization) -> str | None:
    return (
        Membership.objects.filter(
            user_id=authorization.user_id, account_id=authorization.account_id
        )
        .values_list("role", flat=True)
        .first()
    )


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
        extra={
            "account": account,
            "authorization_id": authorization.pk,
            "application_id": token.application_id,
            "role": token.role,
        },
    )
