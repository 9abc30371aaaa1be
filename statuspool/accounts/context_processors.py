"""The settings navigation of the documentation."""

from django.urls import reverse

from statuspool import timefmt
from statuspool.accounts.middleware import memberships_of

# (label, URL name, who sees it).
SETTINGS_NAVIGATION = [
    ("API Access", "apikeys:list", "team_admin"),
    ("OAuth Applications", "oauthapps:application_list", "team_admin"),
    ("Connected Applications", "oauthapps:connected_list", "member"),
    ("Usage", "usage:account", "team_admin"),
    ("Audit Log", "audit:log", "team_admin"),
    ("Team", "accounts:team", "member"),
    ("Billing", "accounts:billing", "team_admin"),
    ("Security", "accounts:security", "member"),
]


def team_admin_screens() -> list[str]:
    """URL prefixes of the settings screens only team admins may open."""
    return [reverse(name) for _label, name, who in SETTINGS_NAVIGATION if who == "team_admin"]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    is_team_admin = bool(membership) and membership.is_team_admin
    items = []
    for label, name, audience in SETTINGS_NAVIGATION:
        url = reverse(name)
        if audience == "member" or is_team_admin:
            items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return {
        # For labels of time inputs: "From (Europe/Berlin)".
        "time_zone_name": timefmt.zone_name(),
        "settings_navigation": items,
        "current_membership": membership,
        "is_team_admin": is_team_admin,
        # The header's account switcher: the user's other accounts (no query of its own).
        "switchable_memberships": [
            m for m in memberships_of(request) if membership and m.pk != membership.pk
        ],
    }
