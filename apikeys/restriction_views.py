"""A key's IP restrictions (Enterprise) and Usage Alerts toggle, beside Settings → API Access.

Changing the allowlist needs sudo confirmation (password + 2FA code); turning usage alerts on or
off does not. A key of another account is a 404 (``apikeys.views._key_for``).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apikeys.models import Status
from apikeys.restriction_forms import AllowlistForm, UsageAlertsForm
from apikeys.restriction_services import (
    MAX_NETWORKS,
    TEAM_PLAN_MESSAGE,
    apikey_set_allowed_networks,
    apikey_set_usage_alerts,
)
from apikeys.views import _key_for
from audit.services import Actor
from statuspool.accounts.decorators import team_admin_required
from statuspool.accounts.sudo import SudoForm, sudo_confirm
from statuspool.client_ip import client_ip


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def allowlist_edit(request, public_id):
    key = _key_for(request, public_id)
    if key.status == Status.REVOKED:
        messages.error(request, "This key is revoked; its IP allowlist can no longer change.")
        return redirect("apikeys:detail", public_id=key.public_id)
    posted = request.POST if request.method == "POST" else None
    form = AllowlistForm(posted, key=key, account=request.account, current_ip=client_ip(request))
    sudo_form = SudoForm(posted)
    # Our own form first: a typo in a CIDR block must not spend the one-time code.
    if (
        posted is not None
        and form.is_valid()
        and sudo_confirm(request, sudo_form, purpose="apikey.allowlist")
    ):
        try:
            apikey_set_allowed_networks(
                key=key, networks=form.networks, actor=Actor.from_request(request)
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "IP restrictions saved. They apply from the next request.")
            return redirect("apikeys:detail", public_id=key.public_id)
    context = {
        "key": key,
        "form": form,
        "sudo_form": sudo_form,
        "is_enterprise": request.account.is_enterprise,
        "team_plan_message": TEAM_PLAN_MESSAGE,
        "max_networks": MAX_NETWORKS,
        # A Team-plan key without blocks has nothing to save: no form, only the explanation.
        "nothing_to_edit": not request.account.is_enterprise and not key.allowed_networks,
    }
    return render(request, "apikeys/restrictions_allowlist.html", context)


@require_POST
@login_required
@team_admin_required
def usage_alerts_set(request, public_id):
    key = _key_for(request, public_id)
    form = UsageAlertsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether usage alerts are on or off.")
        return redirect("apikeys:detail", public_id=key.public_id)
    enabled = form.cleaned_data["enabled"]
    try:
        apikey_set_usage_alerts(key=key, enabled=enabled, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "Usage alerts are on: the account owner and the key's creator will be emailed."
            if enabled
            else "Usage alerts are off for this key.",
        )
    return redirect("apikeys:detail", public_id=key.public_id)
