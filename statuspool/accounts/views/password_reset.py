"""Forgot password: request a link, open it, choose a new password.

The answer to a request never says whether the address has a login. The link's token leaves the
URL at once (kept in the session, as Django's own reset view does) and the new password is not
followed by a login: the person signs in again, with their 2FA code when they have one.
"""

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import Actor
from statuspool.accounts.models import User
from statuspool.accounts.password_reset import password_reset_complete, password_reset_request
from statuspool.accounts.team_forms import PasswordResetRequestForm
from statuspool.accounts.team_limits import password_reset_allowed

TOKEN_SESSION_KEY = "accounts_password_reset"  # nosec B105  # a session key name, not a secret


@never_cache
@require_http_methods(["GET", "POST"])
def reset_request(request):
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        lock = password_reset_allowed(request, email)
        if lock.locked:
            form.add_error(None, f"Too many reset requests. Try again in {lock.wait_phrase()}.")
        else:
            password_reset_request(email=email, actor=Actor.from_request(request))
            return redirect("accounts:password_reset_sent")
    return render(request, "accounts/password_reset.html", {"form": form})


@require_GET
def reset_sent(request):
    return render(request, "accounts/password_reset_sent.html")


@sensitive_variables("token")
@never_cache
@require_GET
def reset_open(request, uidb64, token):
    request.session[TOKEN_SESSION_KEY] = {"uid": uidb64, "token": token}
    return redirect("accounts:password_reset_confirm")


def _user_from_session(request):
    state = request.session.get(TOKEN_SESSION_KEY) or {}
    try:
        pk = int(force_str(urlsafe_base64_decode(state.get("uid", ""))))
    except (TypeError, ValueError, OverflowError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, state.get("token", "")):
        return None
    return user


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def reset_confirm(request):
    user = _user_from_session(request)
    if user is None:
        request.session.pop(TOKEN_SESSION_KEY, None)
        return render(request, "accounts/password_reset_invalid.html", status=404)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_complete(
                user=user,
                new_password=form.cleaned_data["new_password1"],
                actor=Actor.from_request(request, user=user),
            )
        except ValidationError as error:
            form.add_error("new_password1", error.messages)
        else:
            request.session.pop(TOKEN_SESSION_KEY, None)
            messages.success(
                request, "Your password was changed and every session was signed out. Log in now."
            )
            return redirect("accounts:login")
    return render(
        request, "accounts/password_reset_confirm.html", {"form": form, "email": user.email}
    )
