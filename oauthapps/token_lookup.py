"""Which access token a raw value is, and the grant user's current role: shared by /v2
authentication (oauthapps.authentication) and the authorization server's validator, which must
not depend on each other."""

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from oauthapps import token_format
from oauthapps.models import AccessToken
from statuspool.accounts.models import Membership


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
