"""Settings → Billing: the plan, what it allows and uses, and (owners) the billing email.

Changing the plan stays an operator action (``manage.py setplan``).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.module_loading import import_string
from django.views.decorators.http import require_http_methods

from audit.services import Actor
from statuspool.accounts import team_services
from statuspool.accounts.decorators import team_admin_required
from statuspool.accounts.models import Role
from statuspool.accounts.team_forms import BillingEmailForm


def plan_summary(account) -> dict:
    """What the Billing page and ``GET /v2/billing`` show about the plan and its use."""
    limits = settings.API_RATE_LIMITS[account.plan]
    return {
        "plan": account.plan,
        "plan_label": account.get_plan_display(),
        # Counted by the app that owns keys (registered in settings: accounts is below it).
        "keys_in_use": import_string(settings.ACCOUNT_API_KEYS_IN_USE)(account=account),
        "keys_limit": settings.APIKEY_MAX_PER_ACCOUNT,
        "members": account.memberships.count(),
        "pending_invitations": account.invitations.pending().count(),
        "rate_read": limits["read"],
        "rate_write": limits["write"],
        "ip_allowlisting": account.is_enterprise,
    }


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def billing(request):
    account = request.account
    is_owner = request.membership.role == Role.OWNER
    if request.method == "POST" and not is_owner:
        raise Http404("Only the owner changes the billing email")
    form = BillingEmailForm(request.POST or None, initial={"billing_email": account.billing_email})
    if request.method == "POST" and form.is_valid():
        try:
            team_services.account_update_billing_email(
                account=account,
                billing_email=form.cleaned_data["billing_email"],
                acting=team_services.Acting.person(
                    actor=Actor.from_request(request), membership=request.membership
                ),
            )
        except ValidationError as error:
            form.add_error("billing_email", error.messages)
        else:
            messages.success(request, "The billing email was updated.")
            return redirect("accounts:billing")
    context = {"account": account, "summary": plan_summary(account), "form": form}
    context["can_edit"] = is_owner
    return render(request, "accounts/billing.html", context)
