"""The operators' admin behind the dashboard's own sign-in.

Django's admin login form checks a password and nothing else, with no limits and no audit event.
Here the admin has no login form of its own: ``/admin/login/`` sends people to the dashboard's
login (password → TOTP, per-IP and per-email limits, ``auth.login`` / ``auth.login_failed``
events), and an admin page opens only for active staff who have a confirmed second factor. A staff
user without one is sent to enrollment first (StaffTwoFactorMiddleware keeps them there for the
dashboard too).
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

from statuspool.accounts.decorators import enrollment_url
from statuspool.accounts.login_flow import safe_next
from statuspool.accounts.middleware import STAFF_NEED_2FA


def is_operator(user) -> bool:
    return user.is_active and (user.is_staff or user.is_superuser)


class StatusPoolAdminSite(admin.AdminSite):
    site_header = "StatusPool operators"
    site_title = "StatusPool admin"

    def has_permission(self, request):
        return super().has_permission(request) and request.user.has_2fa

    def login(self, request, extra_context=None):
        next_url = safe_next(request, request.GET.get("next") or reverse("admin:index"))
        user = request.user
        if not user.is_authenticated:
            # Never authenticates here, whatever is posted: the dashboard's login does.
            query = urlencode({"next": next_url})
            return redirect(f"{reverse('accounts:login')}?{query}")
        if not is_operator(user):
            raise Http404("Operators only")  # as for any screen someone may not use
        if not user.has_2fa:
            messages.warning(request, STAFF_NEED_2FA)
            return redirect(enrollment_url(next_url))
        return redirect(next_url)
