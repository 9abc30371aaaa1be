"""Sign-up, login (password, then second factor) and logout."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import Actor
from statuspool.accounts import lockout, login_flow
from statuspool.accounts.forms import LoginForm, SecondFactorForm, SignupForm
from statuspool.accounts.middleware import SESSION_KEY
from statuspool.accounts.services import account_create
from statuspool.client_ip import client_ip

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


@sensitive_post_parameters("password")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = login_flow.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = login_flow.attempt_password(
            request,
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            next_url=next_url,
        )
        if outcome.needs_second_factor:
            return redirect("accounts:login_verify")
        if not outcome.error:
            return redirect(next_url)
        form.add_error(None, outcome.error)
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_verify(request):
    found = login_flow.pending(request)
    if found is None:
        messages.info(request, "Your sign-in timed out. Enter your email and password again.")
        return redirect("accounts:login")
    user, state = found
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = login_flow.attempt_second_factor(
            request, user=user, state=state, code=form.cleaned_data["code"]
        )
        if not outcome.error:
            return redirect(login_flow.safe_next(request, state.get("next")))
        form.add_error("code", outcome.error)
    return render(request, "accounts/login_verify.html", {"form": form, "email": user.email})


@require_POST
def logout_view(request):
    logout(request)
    messages.success(request, "You have been logged out.")
    return redirect("accounts:login")
