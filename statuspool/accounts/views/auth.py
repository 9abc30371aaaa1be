"""Login (password, then second factor) and logout; sign-up is statuspool.onboarding.views."""

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from statuspool.accounts import login_flow
from statuspool.accounts.forms import LoginForm, SecondFactorForm

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


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
