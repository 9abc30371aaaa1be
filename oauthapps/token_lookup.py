"""Which live access token a checksum is, and the grant user's current role: shared by /v2
authentication (oauthapps.authentication) and the authorization server's validator, which must
not depend on each other.

One query, plain values only: the token joined with its grant, account, application name, user
and the user's membership of the grant's account (a join, not a correlated subquery, so a token
whose user left the account has no row). Never the client-secret digest or a password hash.
"""

from django.db.models import F, FilteredRelation, Q
from django.utils import timezone

from oauthapps.models import AccessToken
from statuspool.accounts.models import Membership

# What a /v2 credential is made of (oauthapps.authentication).
CREDENTIAL_FIELDS = (
    "id",
    "user_id",
    "application_id",
    "application__name",
    "scope",
    "expires",
    "jkt",
    "authorization_id",
    "authorization__account_id",
    "authorization__account__plan",
    "authorization__account__name",
)
# The grant user's membership of the grant's account, reached through the account.
_MEMBERSHIP = "authorization__account__memberships"


def live_access_token(checksum: str, *extra_fields: str) -> dict | None:
    """The live token with this checksum as ``CREDENTIAL_FIELDS`` + ``extra_fields`` + ``role``,
    or None (unknown, expired, grant revoked, user inactive or no longer a member)."""
    return (
        AccessToken.objects.filter(
            token_checksum=checksum,
            expires__gt=timezone.now(),
            authorization__revoked_at__isnull=True,
            user__is_active=True,
            **{f"{_MEMBERSHIP}__user_id": F("authorization__user_id")},
        )
        .values(*CREDENTIAL_FIELDS, *extra_fields, role=F(f"{_MEMBERSHIP}__role"))
        .first()
    )


def with_grant_role(queryset, via: str = "authorization"):
    """``queryset`` annotated with ``role``: the grant user's current membership role in the
    grant's account (None when no longer a member), by a LEFT JOIN in the same statement.
    ``via``: the path from the queryset's model to the grant ("" for Authorization itself)."""
    grant = f"{via}__" if via else ""
    memberships = f"{grant}account__memberships"
    return queryset.annotate(
        grant_membership=FilteredRelation(
            memberships, condition=Q(**{f"{memberships}__user_id": F(f"{grant}user_id")})
        ),
        role=F("grant_membership__role"),
    )


def current_role(authorization) -> str | None:
    return (
        Membership.objects.filter(
            user_id=authorization.user_id, account_id=authorization.account_id
        )
        .values_list("role", flat=True)
        .first()
    )
