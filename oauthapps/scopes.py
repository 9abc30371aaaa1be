"""Which scopes a person may hand to an application, by their role in the account.

Team admins (owner, admin) may grant every scope; members only what they can see themselves in
the dashboard. The same rule runs at consent time (refuse) and on every /v2 request (a token's
scopes are cut down to what the user's *current* role allows, so a demotion takes effect at once).
"""

from django.conf import settings

from statuspool.accounts.models import TEAM_ADMIN_ROLES, Role

MEMBER_SCOPES = frozenset({"monitors:read", "alerts:read"})


def all_scopes() -> dict[str, str]:
    """Scope → the documentation's description, in the documentation's order."""
    return settings.OAUTH2_PROVIDER["SCOPES"]


def order_scopes(scopes) -> list[str]:
    known = list(all_scopes())
    return sorted(set(scopes), key=lambda s: known.index(s) if s in known else len(known))


def scopes_for_role(role: str | None) -> frozenset[str]:
    if role in TEAM_ADMIN_ROLES:
        return frozenset(all_scopes())
    if role == Role.MEMBER:
        return MEMBER_SCOPES
    return frozenset()


def describe(scopes) -> list[tuple[str, str]]:
    descriptions = all_scopes()
    return [(scope, descriptions.get(scope, "")) for scope in order_scopes(scopes)]
