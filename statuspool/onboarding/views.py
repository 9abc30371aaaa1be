"""Sign-up: the form, the "check your inbox" page, and the emailed link that creates the account
(its owner logged in, the default API key shown once). See statuspool/onboarding/signup.py."""

from django.conf import settings
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from audit.services import Actor
from statuspool.accounts import lockout
from statuspool.accounts.forms import SignupForm
from statuspool.accounts.middleware import SESSION_KEY
from statuspool.client_ip import client_ip
from statuspool.onboarding.signup import (
    link_hours,
    pending_for,
    signup_confirm,
    signup_request,
)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _signup_lock(request, *, count: bool) -> lockout.Lock:
    check = lockout.hit if count else lockout.status
    # Sign-up attempts one address may make per window, whatever their outcome: generous for
    # people, tight for scripts probing addresses.
    rate = getattr(settings, "SIGNUP_RATE_PER_IP", "10/h")
    return check(request, group="signup-ip", value=client_ip(request) or "unknown", rate=rate)


@sensitive_post_parameters("password")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        lock = _signup_lock(request, count=False)
        if lock.locked:
            message = f"Too many sign-ups from your network. Try again in {lock.wait_phrase()}."
            form.add_error(None, message)
        else:
            _signup_lock(request, count=True)  # every attempt counts, a refused one too
            if form.is_valid():
                data = form.cleaned_data
                signup_request(
                    email=data["email"],
                    full_name=data["full_name"],
                    account_name=data["account_name"],
                    password=data["password"],
                    ip=client_ip(request),
                )
                context = {"email": data["email"], "hours": link_hours()}
                return render(request, "accounts/signup_sent.html", context)
    return render(request, "accounts/signup.html", {"form": form})


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def signup_confirm_view(request, token: str):
    """GET shows what will be created (mail scanners open links: nothing happens on GET); the
    button posts back and creates the account."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    pending = pending_for(token)
    if pending is None:
        return render(request, "accounts/signup_link_invalid.html", status=404)
    if request.method == "POST":
        try:
            account, user, key = signup_confirm(token=token, actor=Actor.from_request(request))
        except ValidationError:
            return render(request, "accounts/signup_link_invalid.html", status=404)
        login(request, user, backend=MODEL_BACKEND)
        request.session[SESSION_KEY] = account.pk
        # Rendered from the POST itself (never stored, never cached): the only time the
        # default key is shown.
        return render(request, "accounts/signup_done.html", {"account": account, "api_key": key})
    return render(request, "accounts/signup_confirm.html", {"pending": pending})
