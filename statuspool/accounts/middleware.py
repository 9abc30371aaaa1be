"""Which account the dashboard is showing: chosen in the session, checked against memberships."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from statuspool import timefmt
from statuspool.accounts.decorators import enrollment_url

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


STAFF_NEED_2FA = (
    "Operators need two-factor authentication before the admin or the dashboard opens. Set it "
    "up below; you will be taken back afterwards."
)
IDLE_KEY = "last_seen_at"
# The stamp is rewritten at most this often, so a busy dashboard does not save its session on
# every request; the idle timeout is therefore exact to within this many seconds.
IDLE_STAMP_EVERY = 60


def stamp_session_at_login(sender, request, user, **kwargs):
    """The idle clock starts at login, saved with the login's own session write, so the first
    page after it does not write the session again (user_logged_in receiver, AccountsConfig)."""
    if request is not None and hasattr(request, "session"):
        request.session[IDLE_KEY] = int(time.time())


class SessionIdleTimeoutMiddleware:
    """Ends a signed-in session unused for SESSION_IDLE_TIMEOUT seconds (the absolute limit is
    SESSION_COOKIE_AGE). The next request is anonymous and the dashboard asks for a new login."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(IDLE_KEY)
            if last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                logout(request)  # flushes the session: a new key, nothing of the old one kept
            elif last_seen is None or now - last_seen >= IDLE_STAMP_EVERY:
                request.session[IDLE_KEY] = now
        return self.get_response(request)


class StaffTwoFactorMiddleware:
    """An operator (staff or superuser) without a confirmed second factor can only enroll one or
    sign out: a password alone opens neither the admin nor the dashboard for them."""

    ALLOWED = ("accounts:twofactor_enroll", "accounts:logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and user.is_active
            and (user.is_staff or user.is_superuser)
            and not user.has_2fa
            and request.path not in {reverse(name) for name in self.ALLOWED}
        ):
            back = request.get_full_path() if request.method == "GET" else None
            messages.warning(request, STAFF_NEED_2FA)
            return redirect(enrollment_url(back))
        return self.get_response(request)
