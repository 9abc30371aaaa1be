"""Who a /v2 request acts as, for the audit trail."""

from audit.models import ActorKind
from audit.services import MAX_USER_AGENT, Actor
from statuspool.api.credentials import CredentialKind
from statuspool.client_ip import client_ip


def api_actor(request) -> tuple[Actor, object | None]:
    """(audit actor, the user behind it if any) for the request's credential.

    An API key belongs to the account, not to a person: its label (public id) identifies it. An
    OAuth token acts for the user who granted it, so the event carries that user's email too.
    """
    credential = request.auth
    user = None
    if credential.kind == CredentialKind.OAUTH_TOKEN and credential.user_id is not None:
        from statuspool.accounts.models import User

        user = User.objects.filter(pk=credential.user_id).first()
    actor = Actor(
        kind=ActorKind.API_KEY
        if credential.kind == CredentialKind.API_KEY
        else ActorKind.OAUTH_APP,
        user=user,
        email=user.email if user else "",
        label=credential.label,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT],
    )
    return actor, user
