"""The rows a token request locks, each read once, with what the validator needs of them.

``/oauth/token`` runs in one transaction (oauthapps.views.endpoints.TokenView) and each row read
here stays locked until its response commits. What the validator and DOT ask about the same
row later in the request (redirect URI, PKCE challenge, scopes, the user's role) is answered from
these instances, not read again (the validator keeps them on the oauthlib request).
"""

from django.db.models import F

from oauthapps.models import Grant, RefreshToken
from oauthapps.token_lookup import with_grant_role


def lock_code_grant(code: str, client) -> Grant | None:
    """The authorization code's row, locked so that two concurrent redemptions cannot both pass,
    with its ``authorization``, its ``user`` and ``role`` (the user's role in the grant's account
    now, None when no longer a member): one statement."""
    grant = (
        with_grant_role(Grant.objects.select_for_update(of=("self",)))
        .select_related("authorization", "user")
        .defer("user__password")
        .filter(code=code, application=client)
        .first()
    )
    if grant is not None:
        grant.application = client  # the filter says so; no query for its name in an audit event
    return grant


def lock_refresh_token(checksum: str) -> RefreshToken | None:
    """The presented refresh token with ``access_token``, ``user`` and ``authorization``
    (annotated with ``role``), its grant's row and its own locked until the token response
    commits: one statement.

    Every exchange, reuse revocation and grant revocation of one grant takes the grant's row lock
    first, so they happen one after the other, on every instance sharing the database: of N
    parallel redemptions one wins, the others then see the token spent (reuse), and nothing is
    issued into a family or grant that was revoked meanwhile. One lock order (grant, then
    tokens, as ``authorization_revoke`` does) keeps it free of deadlocks: PostgreSQL takes the
    locks of ``FOR UPDATE OF`` in the order it names them, and a statement that waited for a lock
    returns the rows as the transaction it waited for left them (EvalPlanQual), so the token is
    never read as it was before a concurrent exchange spent it.
    """
    presented = RefreshToken.objects.filter(token_checksum=checksum).order_by(
        F("revoked").desc(nulls_first=True)  # the live row if there is one
    )
    token = (
        with_grant_role(
            presented.select_for_update(of=("authorization", "self")), via="authorization"
        )
        # An inner join: FOR UPDATE cannot lock the nullable side of an outer join.
        .filter(authorization__account__isnull=False)
        .select_related("authorization", "access_token", "user")
        .defer("user__password")
        .first()
    )
    if token is None:  # unknown, or a token without a grant (not issued here): nothing to lock
        token = presented.select_related("access_token", "user").defer("user__password").first()
    return token
