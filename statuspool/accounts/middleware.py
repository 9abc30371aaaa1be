"""Which account the dashboard is showing: chosen in the session, checked against memberships."""

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from statuspool import timefmt

SESSION_KEY = "current_account_id"


def memberships_of(request) -> list:
    """Every membership of the user, with its account, by account name: one query per request,
    shared by the current-account choice and the header's account switcher."""
    cached = getattr(request, "_memberships", None)
    if cached is None:
        user = request.user
        cached = (
            list(user.memberships.select_related("account").order_by("account__name", "id"))
            if user.is_authenticated
            else []
        )
        request._memberships = cached
    return cached


def _current_membership(request):
    memberships = memberships_of(request)
    if not memberships:
        return None
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if chosen and membership.account_id == chosen:
            return membership
    # No choice yet (or no longer a member there): the account joined first.
    return min(memberships, key=lambda m: (m.created_at, m.id))


class CurrentAccountMiddleware:
    """Sets ``request.membership`` (lazily) and ``request.account`` for dashboard views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _current_membership(request))
        request.account = SimpleLazyObject(
            lambda: request.membership.account if request.membership else None
        )
        return self.get_response(request)


# Pages a person who must enroll 2FA can still reach (the enrollment itself and the way out).
_ALLOWED_WITHOUT_2FA = {
    "twofactor_enroll",
    "logout",
    "switch_account",
    "invitation_open",
    "invitation_accept",
    "invitation_signup",
}


class RequireTwoFactorMiddleware:
    """The account policy "require 2FA for everyone": members without it are sent to enrollment
    on their next page, as team admins already are on the credential screens.

    Only dashboard pages: /v2 is authenticated by credentials, and static files need no user.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        redirect_to = self._enrollment_redirect(request)
        return redirect_to if redirect_to is not None else self.get_response(request)

    def _enrollment_redirect(self, request):
        if request.path.startswith(("/v2/", "/static/")) or not request.user.is_authenticated:
            return None
        membership = getattr(request, "membership", None)
        if not membership or not membership.account.require_2fa or request.user.has_2fa:
            return None
        match = getattr(request, "resolver_match", None) or _resolve(request.path)
        if match is not None and match.url_name in _ALLOWED_WITHOUT_2FA:
            return None
        from django.contrib import messages
        from django.shortcuts import redirect

        from statuspool.accounts.decorators import enrollment_url

        messages.warning(
            request,
            f"{membership.account.name} requires two-factor authentication for everyone. "
            "Set it up below — it takes a minute.",
        )
        return redirect(
            enrollment_url(request.get_full_path() if request.method == "GET" else None)
        )


def _resolve(path):
    from django.urls import Resolver404, resolve

    try:
        return resolve(path)
    except Resolver404:
        return None


class UserTimeZoneMiddleware:
    """Shows every dashboard time in the signed-in user's zone (UTC until it is known).

    /v2 answers machines in UTC ISO 8601 and never reads the session for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/v2/") or request.path == "/v2":
            return self.get_response(request)
        user = request.user
        zone = timefmt.zone_or_utc(user.time_zone if user.is_authenticated else "")
        with timezone.override(zone):
            return self.get_response(request)
