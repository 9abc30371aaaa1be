"""Settings → Security: two-factor authentication, recovery codes, password."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import Actor
from statuspool.accounts import recovery, services, totp
from statuspool.accounts.forms import EnrollForm, TimeZoneForm
from statuspool.accounts.login_flow import safe_next
from statuspool.accounts.models import TOTPDevice
from statuspool.accounts.sudo import SudoForm, sudo_confirm


def _render_codes(request, codes: list[str], *, next_url: str, enrolled: bool):
    # The codes exist only in this response: it must not be cached anywhere.
    context = {"codes": codes, "next": next_url, "enrolled": enrolled}
    return render(request, "accounts/recovery_codes_done.html", context)


@require_GET
@login_required
def security(request):
    device = TOTPDevice.objects.filter(user=request.user, confirmed_at__isnull=False).first()
    context = {
        "device": device,
        "codes_left": recovery.remaining(request.user) if device else 0,
        "is_team_admin_here": bool(request.membership) and request.membership.is_team_admin,
        "time_zone_form": TimeZoneForm(initial={"time_zone": request.user.time_zone or "UTC"}),
    }
    return render(request, "accounts/security.html", context)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def twofactor_enroll(request):
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.has_2fa:
        messages.info(request, "Two-factor authentication is already on.")
        return redirect("accounts:security")
    device = services.twofactor_begin(user=request.user)
    form = EnrollForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.twofactor_confirm(
                user=request.user, code=form.cleaned_data["code"], actor=Actor.from_request(request)
            )
        except ValidationError as error:
            form.add_error("code", error)
        else:
            return _render_codes(request, codes, next_url=next_url, enrolled=True)
    uri = totp.provisioning_uri(secret=device.secret, email=request.user.email)
    context = {
        "form": form,
        "secret": device.secret,
        "qr": totp.qr_svg(uri),
        # A phone cannot scan a QR code on its own screen: offer the otpauth:// link too.
        "otpauth_uri": uri,
        "next": next_url,
    }
    return render(request, "accounts/twofactor_enroll.html", context)


def _require_2fa(request):
    if request.user.has_2fa:
        return None
    messages.info(request, "Two-factor authentication is not on yet.")
    return redirect("accounts:security")


@sensitive_post_parameters("password", "otp_code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def recovery_codes(request):
    if (response := _require_2fa(request)) is not None:
        return response
    sudo_form = SudoForm(request.POST or None)
    if request.method == "POST" and sudo_confirm(
        request, sudo_form, purpose="recovery_codes.regenerate"
    ):
        codes = services.recovery_codes_regenerate(
            user=request.user, actor=Actor.from_request(request)
        )
        return _render_codes(request, codes, next_url=reverse("accounts:security"), enrolled=False)
    context = {"sudo_form": sudo_form, "codes_left": recovery.remaining(request.user)}
    return render(request, "accounts/recovery_codes.html", context)


@sensitive_post_parameters("password", "otp_code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def twofactor_disable(request):
    if (response := _require_2fa(request)) is not None:
        return response
    # A recovery code is accepted here: it is how someone who lost their phone starts over.
    sudo_form = SudoForm(request.POST or None, allow_recovery_code=True)
    if request.method == "POST" and sudo_confirm(request, sudo_form, purpose="2fa.disable"):
        services.twofactor_disable(user=request.user, actor=Actor.from_request(request))
        messages.success(
            request, "Two-factor authentication is off, and your recovery codes were deleted."
        )
        return redirect("accounts:security")
    is_admin = request.user.memberships.team_admins().exists()
    return render(
        request, "accounts/twofactor_disable.html", {"sudo_form": sudo_form, "is_admin": is_admin}
    )


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                user=request.user,
                new_password=form.cleaned_data["new_password1"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            form.add_error("new_password1", error.messages)
        else:
            # Keeps this session; every other session of the user is signed out by the new hash.
            update_session_auth_hash(request, request.user)
            messages.success(request, "Your password was changed. Other sessions were signed out.")
            return redirect("accounts:security")
    return render(request, "accounts/password_change.html", {"form": form})


@require_POST
@login_required
def time_zone(request):
    """The Security page's time-zone form, and the browser's one-time detection (``detected=1``).

    Detection is a background request from statuspool.js: it answers 204 and never overrides a
    zone the user chose.
    """
    detected = request.POST.get("detected") == "1"
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        if detected:
            return HttpResponse(status=400)
        messages.error(request, "Choose a time zone from the list.")
        return redirect("accounts:security")
    services.user_time_zone_set(
        user=request.user, time_zone=form.cleaned_data["time_zone"], only_if_unset=detected
    )
    if detected:
        return HttpResponse(status=204)
    messages.success(request, f"Times are now shown in {request.user.time_zone}.")
    return redirect(f"{reverse('accounts:security')}#time-zone-title")
