"""Which scopes a person may hand to an application, by their role in the account.

Team admins (owner, admin) may grant every scope; members only what they can see themselves in
the dashboard. The same rule runs at consent time (refuse) and on every /v2 request (a token's
scopes are cut down to what the user's *current* role allows, so a demotion takes effect at once).
"""

from django.conf import settings

from statuspool.accounts.models import TEAM_ADMIN_ROLES, Role

MEMBER_SCOPES = frozenset({"monitors:read", "alerts:read"})


def all_scopes() -> dict[str, str]:
    """Scope → description, as django-oauth-toolkit is configured (settings: the one catalog)."""
    return settings.OAUTH2_PROVIDER["SCOPES"]


def scopes_for_role(role: str | None) -> frozenset[str]:
    if role in TEAM_ADMIN_ROLES:
        return frozenset(all_scopes())
    if role == Role.MEMBER:
        return MEMBER_SCOPES
    return frozenset()
