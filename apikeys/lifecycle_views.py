"""Settings → API Access: replace a key, rename/describe it, and the account's key policy.

Same rules as ``apikeys.views``: team admins only (the policy: owners only), another account's
key is a 404, sudo for anything that creates a key or changes the policy.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apikeys import policy, replacement, services
from apikeys.forms import DetailsForm, PolicyForm, ReplaceForm
from apikeys.views import _data, _key_for, _show_once, _sudo_form, _unfilled
from audit.services import Actor
from statuspool.accounts.decorators import team_admin_required
from statuspool.accounts.sudo import sudo_confirm


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def key_replace(request, public_id):
    """A new key with the old one's settings; works at the key limit (the count does not grow)."""
    key = _key_for(request, public_id)
    if not key.can_rotate:
        messages.error(
            request, "Only an active key that has not been replaced yet can be replaced."
        )
        return redirect("apikeys:detail", public_id=key.public_id)
    form = ReplaceForm(_data(request), initial={"name": key.name, "expire_old_in": "now"})
    sudo_form = _sudo_form(request)
    if (
        request.method == "POST"
        and form.is_valid()
        and sudo_confirm(request, sudo_form, purpose="apikey.replace")
    ):
        try:
            new_key, raw = replacement.apikey_replace(
                key=key,
                actor=Actor.from_request(request),
                expire_old_in=form.cleaned_data["expire_old_in"],
                created_by=request.user,
                name=form.cleaned_data["name"],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            return _show_once(request, new_key, raw, replaced=key)
    new_lifetime = policy.allowed_expiry(policy.policy_of(key.account), key.lifetime)
    context = {
        "key": key,
        "form": form,
        "sudo_form": _unfilled(sudo_form),
        "new_lifetime_days": new_lifetime.days if new_lifetime else None,
    }
    return render(request, "apikeys/replace.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def key_edit_details(request, public_id):
    key = _key_for(request, public_id)
    if key.status == "revoked":
        messages.error(request, "A revoked key cannot be changed.")
        return redirect("apikeys:detail", public_id=key.public_id)
    initial = {"name": key.name, "description": key.description}
    form = DetailsForm(_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.apikey_update_details(
                key=key,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            for field, problems in (
                error.message_dict.items()
                if hasattr(error, "error_dict")
                else [(None, error.messages)]
            ):
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"Saved “{key.name}”.")
            return redirect("apikeys:detail", public_id=key.public_id)
    return render(request, "apikeys/details_form.html", {"key": key, "form": form})


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def key_policy(request):
    """Owners change it (sudo); admins see it and the keys out of policy."""
    account = request.account
    is_owner = request.membership.role == "owner"
    current = policy.ApiKeyPolicy.objects.filter(account=account).first()
    initial = {
        "max_lifetime_days": current.max_lifetime_days if current else None,
        "require_allowlist": current.require_allowlist if current else False,
    }
    form = PolicyForm(_data(request), initial=initial)
    sudo_form = _sudo_form(request)
    if request.method == "POST":
        if not is_owner or not account.is_enterprise:
            raise Http404("Only the owner of an Enterprise account changes the key policy")
        if form.is_valid() and sudo_confirm(request, sudo_form, purpose="apikey.policy"):
            try:
                policy.apikey_policy_update(
                    account=account,
                    max_lifetime_days=form.cleaned_data["max_lifetime_days"],
                    require_allowlist=form.cleaned_data["require_allowlist"],
                    actor=Actor.from_request(request),
                    user=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, "Key policy saved. It applies to new keys from now on.")
                return redirect("apikeys:policy")
    context = {
        "form": form,
        "sudo_form": _unfilled(sudo_form),
        "is_owner": is_owner,
        "current": current if current and current.is_set else None,
        "out_of_policy": policy.out_of_policy(account),
    }
    return render(request, "apikeys/policy.html", context)
