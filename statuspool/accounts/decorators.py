"""Access rules for dashboard views, stacked under ``@login_required``.

``membership_required``: the user belongs to the current account (``request.account``).
``team_admin_required``: the user is the owner or an admin of the current account, with 2FA.

Someone who may not see a screen gets a 404, as for another account's object: the dashboard does
not confirm that a screen exists to people who cannot use it. A team admin without 2FA is sent to
enrollment with an explanation, and brought back afterwards.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

TWO_FACTOR_NEEDED = (
    "API keys, OAuth applications and the audit log are credential screens: team admins need "
    "two-factor authentication to open them. Set it up below — it takes a minute."
)


def _membership_or_404(request):
    membership = getattr(request, "membership", None)
    if not membership:
        raise Http404("Not a member of this account")
    return membership


def membership_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        _membership_or_404(request)
        return view(request, *args, **kwargs)

    return wrapper


def enrollment_url(next_url: str | None = None) -> str:
    url = reverse("accounts:twofactor_enroll")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def team_admin_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not _membership_or_404(request).is_team_admin:
            raise Http404("Team admins only")
        if not request.user.has_2fa:
            messages.warning(request, TWO_FACTOR_NEEDED)
            # Only a GET can be replayed after enrollment; a POST target would answer 405.
            back = request.get_full_path() if request.method == "GET" else None
            return redirect(enrollment_url(back))
        return view(request, *args, **kwargs)

    return wrapper
