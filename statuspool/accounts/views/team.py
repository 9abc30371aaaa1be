"""Settings → Team: who belongs to the current account, and switching between accounts."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_GET, require_POST

from statuspool.accounts.context_processors import team_admin_screens
from statuspool.accounts.decorators import membership_required
from statuspool.accounts.forms import SwitchAccountForm
from statuspool.accounts.login_flow import safe_next
from statuspool.accounts.middleware import SESSION_KEY
from statuspool.accounts.models import Role

_ROLE_ORDER = Case(
    When(role=Role.OWNER, then=Value(0)),
    When(role=Role.ADMIN, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def _switch_form(request, data=None):
    memberships = request.user.memberships.select_related("account").order_by("account__name")
    form = SwitchAccountForm(data, memberships=memberships, initial={"account": request.account.pk})
    return form, len(form.fields["account"].choices)


@require_GET
@login_required
@membership_required
def team(request):
    members = (
        request.account.memberships.select_related("user", "user__totp_device")
        .annotate(role_order=_ROLE_ORDER)
        .order_by("role_order", "user__email")
    )
    is_team_admin = request.membership.is_team_admin
    members = list(members)
    switch_form, account_count = _switch_form(request)
    context = {
        "account": request.account,
        "members": members,
        "switch_form": switch_form if account_count > 1 else None,
        "show_2fa": is_team_admin or request.account.require_2fa,
        "is_team_admin": is_team_admin,
        "is_owner": request.membership.role == Role.OWNER,
        "not_enrolled": [m for m in members if not m.user.has_2fa],
        "invitations": (
            request.account.invitations.pending().select_related("invited_by")
            if is_team_admin
            else None
        ),
    }
    return render(request, "accounts/team.html", context)


@require_POST
@login_required
@membership_required
def switch_account(request):
    form, _count = _switch_form(request, request.POST)
    if not form.is_valid():
        # Only accounts the user belongs to are choices: anything else is not theirs to see.
        raise Http404("Not a member of that account")
    request.session[SESSION_KEY] = form.cleaned_data["account"]
    membership = request.user.memberships.select_related("account").get(
        account_id=form.cleaned_data["account"]
    )
    messages.success(request, f"You are now working in {membership.account.name}.")
    next_url = safe_next(request, request.POST.get("next"))
    return redirect(_page_in_new_account(next_url, membership))


def _page_in_new_account(url: str, membership) -> str:
    """The same screen in the new account, unless it shows one object (of the old account) or
    is a team admins' screen and the person is a member there: then the home page, not a 404."""
    path = urlsplit(url).path
    try:
        match = resolve(path)
    except Resolver404:
        return reverse("home")
    if match.kwargs:
        return reverse("home")
    if not membership.is_team_admin and any(
        path.startswith(admin_url) for admin_url in team_admin_screens()
    ):
        return reverse("home")
    return url
