"""Invitations: sending them (Settings → Team) and opening the emailed link.

The link's token is taken out of the URL at once: ``/invitations/<token>/`` stores it in the
session and redirects to ``/invitations/accept/``, so it does not linger in the address bar,
the history or a Referer header.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import Actor
from statuspool import credential_format
from statuspool.accounts import invitation_services as invitations
from statuspool.accounts.decorators import enrollment_url, team_admin_required
from statuspool.accounts.middleware import SESSION_KEY
from statuspool.accounts.models import INVITATION_PREFIX, Invitation, Role, User
from statuspool.accounts.sudo import SudoForm, sudo_confirm
from statuspool.accounts.team_forms import InvitationSignupForm, InviteForm
from statuspool.accounts.team_limits import invitation_allowed
from statuspool.accounts.views.members import _acting, _run

TOKEN_SESSION_KEY = "accounts_invitation_token"  # nosec B105  # a session key name, not a secret
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# --- Sending (team admins) ------------------------------------------------------------------------
@sensitive_post_parameters("password", "otp_code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def invite(request):
    form = InviteForm(request.POST or None)
    sudo_form = SudoForm(request.POST or None)
    # Inviting an admin touches admins: it needs the same confirmation as promoting one.
    needs_sudo = request.method == "POST" and request.POST.get("role") == Role.ADMIN
    if request.method == "POST" and form.is_valid():
        if needs_sudo and not sudo_confirm(request, sudo_form, purpose="team.invite_admin"):
            pass
        elif (lock := invitation_allowed(request, request.account.pk)).locked:
            form.add_error(None, f"Too many invitations sent. Try again in {lock.wait_phrase()}.")
        elif _run(
            form,
            lambda: invitations.invitation_create(
                account=request.account, acting=_acting(request), **form.cleaned_data
            ),
        ):
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("accounts:team")
    return render(request, "accounts/invite.html", {"form": form, "sudo_form": sudo_form})


def _pending_or_404(request, pk) -> Invitation:
    return get_object_or_404(Invitation.objects.pending(), pk=pk, account=request.account)


@require_POST
@login_required
@team_admin_required
def invitation_resend(request, pk):
    invitation = _pending_or_404(request, pk)
    if invitation_allowed(request, request.account.pk).locked:
        messages.error(request, "Too many invitations sent. Try again later.")
    else:
        invitations.invitation_resend(invitation=invitation, acting=_acting(request))
        messages.success(
            request, f"A new link was sent to {invitation.email}; the old one no longer works."
        )
    return redirect("accounts:team")


@require_POST
@login_required
@team_admin_required
def invitation_revoke(request, pk):
    invitation = _pending_or_404(request, pk)
    invitations.invitation_revoke(invitation=invitation, acting=_acting(request))
    messages.success(request, f"The invitation of {invitation.email} was revoked.")
    return redirect("accounts:team")


# --- Opening the link (the invited person) --------------------------------------------------------
@sensitive_variables("token")
@never_cache
@require_GET
def invitation_open(request, token):
    if credential_format.is_well_formed(token, INVITATION_PREFIX):
        request.session[TOKEN_SESSION_KEY] = token
    else:  # a mangled link: nothing worth keeping (the accept page says the link does not work)
        request.session.pop(TOKEN_SESSION_KEY, None)
    return redirect("accounts:invitation_accept")


def _invitation_in_session(request) -> Invitation | None:
    return Invitation.objects.by_token(request.session.get(TOKEN_SESSION_KEY, ""))


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request):
    invitation = _invitation_in_session(request)
    if invitation is None:
        request.session.pop(TOKEN_SESSION_KEY, None)
        return render(request, "accounts/invitation_invalid.html", status=404)
    context = {"invitation": invitation}
    if not request.user.is_authenticated:
        # Whoever holds the link received it at that address: telling them whether it already
        # has a StatusPool login reveals nothing they could not learn by signing in.
        context["has_user"] = User.objects.filter(email__iexact=invitation.email).exists()
        context["login_url"] = (
            f"{reverse('accounts:login')}?next={reverse('accounts:invitation_accept')}"
        )
        return render(request, "accounts/invitation.html", context)
    context["wrong_user"] = request.user.email.lower() != invitation.email.lower()
    context["needs_2fa"] = invitation.account.require_2fa and not request.user.has_2fa
    context["enroll_url"] = enrollment_url(reverse("accounts:invitation_accept"))
    if request.method == "POST" and not context["wrong_user"]:
        return _accept(request, invitation, context)
    return render(request, "accounts/invitation.html", context)


def _accept(request, invitation, context):
    try:
        membership = invitations.invitation_accept(
            invitation=invitation, user=request.user, actor=Actor.from_request(request)
        )
    except invitations.TwoFactorRequired:
        return redirect(context["enroll_url"])
    except (ValidationError, PermissionDenied) as error:
        context["error"] = " ".join(getattr(error, "messages", [str(error)]))
        return render(request, "accounts/invitation.html", context)
    request.session.pop(TOKEN_SESSION_KEY, None)
    request.session[SESSION_KEY] = membership.account_id
    messages.success(request, f"Welcome to {membership.account.name}.")
    return redirect("home")


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_signup(request):
    invitation = _invitation_in_session(request)
    if invitation is None or request.user.is_authenticated:
        return redirect("accounts:invitation_accept")
    form = InvitationSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.invitation_signup(
                invitation=invitation, actor=Actor.from_request(request), **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            login(request, user, backend=MODEL_BACKEND)  # keeps the token in the session
            return redirect("accounts:invitation_accept")
    return render(
        request, "accounts/invitation_signup.html", {"form": form, "invitation": invitation}
    )
