"""Settings → Team, for team admins: change a role, remove someone, transfer ownership, 2FA policy.

Anything touching an admin or the owner needs sudo (password + 2FA code in the same form). The
rules themselves live in ``team_services`` and hold for /v2 too; a refusal is shown on the form.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from audit.services import Actor
from statuspool.accounts import team_services
from statuspool.accounts.decorators import team_admin_required
from statuspool.accounts.models import Membership, Role
from statuspool.accounts.sudo import SudoForm, sudo_confirm
from statuspool.accounts.team_forms import PolicyForm, RoleForm, TransferForm


def _acting(request) -> team_services.Acting:
    return team_services.Acting.person(
        actor=Actor.from_request(request), membership=request.membership
    )


def _member_or_404(request, pk) -> Membership:
    """Someone else in the current account; the owner and oneself are not managed here."""
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=pk, account=request.account
    )
    if membership.role == Role.OWNER or membership.user_id == request.user.pk:
        raise Http404("Not managed here")
    return membership


def _run(form, action) -> bool:
    """Call the service; its refusal becomes a form error. True when it went through."""
    try:
        action()
    except (ValidationError, PermissionDenied) as error:
        messages_ = error.messages if isinstance(error, ValidationError) else [str(error)]
        form.add_error(None, messages_)
        return False
    return True


@sensitive_post_parameters("password", "otp_code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def member_role(request, pk):
    membership = _member_or_404(request, pk)
    form = RoleForm(request.POST or None, initial={"role": membership.role})
    sudo_form = SudoForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and sudo_confirm(request, sudo_form, purpose="team.role_change")
        and _run(
            form,
            lambda: team_services.member_change_role(
                membership=membership, role=form.cleaned_data["role"], acting=_acting(request)
            ),
        )
    ):
        messages.success(request, f"{membership.user.email} is now {form.cleaned_data['role']}.")
        return redirect("accounts:team")
    context = {"member": membership, "form": form, "sudo_form": sudo_form}
    return render(request, "accounts/member_role.html", context)


@sensitive_post_parameters("password", "otp_code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def member_remove(request, pk):
    membership = _member_or_404(request, pk)
    needs_sudo = team_services.touches_admins(membership=membership)
    form = RoleForm()  # carries the non-field errors of a refusal
    sudo_form = SudoForm(request.POST or None) if needs_sudo else None
    if (
        request.method == "POST"
        and (not needs_sudo or sudo_confirm(request, sudo_form, purpose="team.member_remove"))
        and _run(
            form,
            lambda: team_services.member_remove(membership=membership, acting=_acting(request)),
        )
    ):
        messages.success(request, f"{membership.user.email} was removed from {request.account}.")
        return redirect("accounts:team")
    context = {"member": membership, "form": form, "sudo_form": sudo_form}
    return render(request, "accounts/member_remove.html", context)


@sensitive_post_parameters("password", "otp_code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def ownership_transfer(request):
    if request.membership.role != Role.OWNER:
        raise Http404("Only the owner transfers ownership")
    candidates = (
        request.account.memberships.exclude(user=request.user)
        .filter(user__totp_device__confirmed_at__isnull=False)
        .select_related("user")
        .order_by("user__email")
    )
    form = TransferForm(request.POST or None, candidates=candidates)
    sudo_form = SudoForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and sudo_confirm(request, sudo_form, purpose="team.ownership_transfer")
    ):
        new_owner = candidates.get(user_id=form.cleaned_data["new_owner"]).user
        if _run(
            form,
            lambda: team_services.ownership_transfer(
                account=request.account, new_owner=new_owner, acting=_acting(request)
            ),
        ):
            messages.success(request, f"{new_owner.email} is now the owner; you are an admin.")
            return redirect("accounts:team")
    context = {"form": form, "sudo_form": sudo_form, "has_candidates": candidates.exists()}
    return render(request, "accounts/ownership_transfer.html", context)


@sensitive_post_parameters("password", "otp_code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def policy(request):
    if request.membership.role != Role.OWNER:
        raise Http404("Only the owner sets the account policy")
    account = request.account
    form = PolicyForm(request.POST or None, initial={"require_2fa": account.require_2fa})
    sudo_form = SudoForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and sudo_confirm(request, sudo_form, purpose="account.require_2fa")
    ):
        enabled = form.cleaned_data["require_2fa"]
        team_services.account_set_require_2fa(
            account=account, enabled=enabled, acting=_acting(request)
        )
        state = "now required" if enabled else "no longer required"
        messages.success(request, f"Two-factor authentication is {state} for everyone.")
        return redirect("accounts:team")
    return render(request, "accounts/policy.html", {"form": form, "sudo_form": sudo_form})
