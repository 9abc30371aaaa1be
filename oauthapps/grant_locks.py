"""The rows a token request locks, each read once, with what the validator needs of them.

``/oauth/token`` runs in one transaction (oauthapps.views.endpoints.TokenView) and each row read
here stays locked until its response commits. What the validator and DOT ask about the same
row later in the request (redirect URI, PKCE challenge, scopes, the user's role) is answered from
these instances, not read again (the validator keeps them on the oauthlib request).
"""

from django.db.models import F, Subquery

from oauthapps.models import Authorization, Grant, RefreshToken
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
    """The presented refresh token, read after locking its grant until the token response
    commits, with ``access_token``, ``user`` and ``authorization`` (annotated with ``role``).

    Every exchange, reuse revocation and grant revocation of one grant takes the grant's row lock
    first, so they happen one after the other, on every instance sharing the database: of N
    parallel redemptions one wins, the others then see the token spent (reuse), and nothing is
    issued into a family or grant that was revoked meanwhile. One lock order (grant, then
    tokens, as ``authorization_revoke`` does) keeps it free of deadlocks. Two statements: the
    grant is found and locked in the first; the token is read (and locked) in the second, so that
    it is read after any exchange that held the lock before us committed.
    """
    presented = RefreshToken.objects.filter(token_checksum=checksum).order_by(
        F("revoked").desc(nulls_first=True)  # the live row if there is one
    )
    authorization = (
        with_grant_role(Authorization.objects.select_for_update(of=("self",)), via="")
        .filter(pk=Subquery(presented.values("authorization_id")[:1]))
        .first()
    )
    token = (
        presented.select_for_update(of=("self",))
        .select_related("access_token", "user")
        .defer("user__password")
        .first()
    )
    if token is not None and authorization is not None:
        if token.authorization_id == authorization.pk:
            token.authorization = authorization
    return token
