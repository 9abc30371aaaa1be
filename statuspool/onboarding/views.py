"""Sign-up: a person creates an account, becomes its owner and sees its default API key once."""

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
from statuspool.onboarding.services import account_create

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _signup_lock(request, *, count: bool) -> lockout.Lock:
    check = lockout.hit if count else lockout.status
    # Accounts one address may create per window; generous for people, tight for scripts.
    rate = getattr(settings, "SIGNUP_RATE_PER_IP", "10/h")
    return check(request, group="signup-ip", value=client_ip(request) or "unknown", rate=rate)


def _sign_up(request, form):
    """Create the account from a valid form and log its owner in; None (with form errors) if not."""
    lock = _signup_lock(request, count=False)
    if lock.locked:
        message = f"Too many sign-ups from your network. Try again in {lock.wait_phrase()}."
        form.add_error(None, message)
        return None
    data = form.cleaned_data
    try:
        account, user, key = account_create(
            name=data["account_name"],
            owner_email=data["email"],
            owner_password=data["password"],
            owner_full_name=data["full_name"],
            actor=Actor.from_request(request),
            signup=True,
        )
    except ValidationError as error:
        form.add_error(None, error.messages)
        return None
    _signup_lock(request, count=True)
    login(request, user, backend=MODEL_BACKEND)
    request.session[SESSION_KEY] = account.pk
    return account, key


@sensitive_post_parameters("password")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = _sign_up(request, form)
        if created is not None:
            account, key = created
            # Rendered from the POST itself (never stored, never cached): the only time the
            # default key is shown.
            context = {"account": account, "api_key": key}
            return render(request, "accounts/signup_done.html", context)
    return render(request, "accounts/signup.html", {"form": form})
