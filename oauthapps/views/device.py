"""Device authorization grant (RFC 8628): the CLI's endpoint and the person's /device pages.

``POST /oauth/device_authorization`` (public clients registered as "public client / CLI" only)
answers a device code for the CLI to poll with and a user code for the person. On ``/device``
the person logs in as usual (password + 2FA), types the code, and sees the same consent screen as
the authorization code flow, account picker included. Typing a code claims it: nobody else can
use it afterwards, and wrong codes are limited per person and per client address
(``OAUTH_DEVICE_USER_CODE_RATE``) so the ~34-bit code space cannot be searched.
"""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from oauth2_provider.views.mixins import OAuthLibMixin

from audit.services import Actor
from oauthapps import services
from oauthapps.device import pending_grant_for_code
from oauthapps.forms import ConsentForm, DeviceCodeForm
from oauthapps.models import Application, DeviceGrant
from oauthapps.scopes import all_scopes
from oauthapps.views.authorize import grant_problem
from statuspool.accounts import lockout
from statuspool.client_ip import client_ip
from statuspool.scopes import describe


class _OAuthLib(OAuthLibMixin):
    """DOT's cached oauthlib core over our server, which also is the device endpoint."""


def _error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _requested_scopes(request, application) -> list[str] | None:
    scopes = request.POST.get("scope", "").split() or list(
        settings.OAUTH2_PROVIDER["DEFAULT_SCOPES"]
    )
    if set(scopes) - set(all_scopes()) or not application.scopes_within_ceiling(scopes):
        return None
    return scopes


@csrf_exempt
@require_POST
@never_cache
def device_authorization(request):
    """RFC 8628 §3.1–3.2, oauthlib's endpoint plus what it leaves to us: which clients may use
    it, the scope checks, and storing the codes (as digests)."""
    # Anyone with a public client_id may ask, so each address gets a budget of device codes.
    lock = lockout.hit(
        request,
        group="device-authorization-ip",
        value=client_ip(request) or "unknown",
        rate=settings.OAUTH_DEVICE_AUTHORIZATION_RATE,
    )
    if lock.locked:
        response = _error("slow_down", "Too many device codes from this address.", status=429)
        response["Retry-After"] = str(lock.retry_after)
        return response
    # oauthlib compares the media type exactly; "…; charset=utf-8" is the same thing.
    if request.content_type == "application/x-www-form-urlencoded":
        request.META["CONTENT_TYPE"] = request.content_type
    headers, body, status = _OAuthLib.get_oauthlib_core().create_device_authorization_response(
        request
    )
    if status != 200:
        response = JsonResponse(json.loads(body), status=status)
        for name, value in headers.items():
            response[name] = value
        return response
    application = Application.objects.get(client_id=request.POST["client_id"])
    if not application.is_device_client:
        return _error(
            "unauthorized_client",
            "This application is not registered as a public client / CLI, so it cannot use "
            "the device flow.",
        )
    scopes = _requested_scopes(request, application)
    if scopes is None:
        return _error("invalid_scope", "The application may not ask for one of these scopes.")
    verification_uri = request.build_absolute_uri(reverse("device:entry"))
    services.device_grant_create(
        application=application,
        scopes=scopes,
        device_code=body["device_code"],
        user_code=body["user_code"],
        expires_in=body["expires_in"],
        interval=body["interval"],
    )
    return JsonResponse(
        body
        | {
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={body['user_code']}",
        },
        headers={"Cache-Control": "no-store"},
    )


def _code_counters(request):
    rate = settings.OAUTH_DEVICE_USER_CODE_RATE
    return (
        ("device-code-user", str(request.user.pk), rate),
        ("device-code-ip", client_ip(request) or "unknown", rate),
    )


def _locked(request):
    for group, value, rate in _code_counters(request):
        lock = lockout.status(request, group=group, value=value, rate=rate)
        if lock.locked:
            return lock
    return None


def _wrong_code(request):
    """Count one wrong code; the lock it may have closed, or None."""
    locks = [
        lockout.hit(request, group=group, value=value, rate=rate)
        for group, value, rate in _code_counters(request)
    ]
    return next((lock for lock in locks if lock.locked), None)


def _too_many(form, lock):
    form.add_error(
        None,
        f"Too many wrong codes. Wait {lock.wait_phrase()} and try again with the code your "
        "device shows then.",
    )
    return 429


@require_http_methods(["GET", "POST"])
@login_required
@xframe_options_deny
@never_cache
def device_entry(request):
    """/device: type the code the terminal shows."""
    form = DeviceCodeForm(request.POST or None, initial={"user_code": request.GET.get("user_code")})
    status = 200
    if request.method == "POST":
        lock = _locked(request)
        if lock is not None:
            status = _too_many(form, lock)
        elif form.is_valid():
            grant = pending_grant_for_code(form.cleaned_data["user_code"])
            if grant is not None and services.device_grant_claim(grant=grant, user=request.user):
                return redirect("device:consent", pk=grant.pk)
            form.add_error(
                "user_code",
                "That code is not valid, has expired or was already used. Check the code your "
                "device shows now.",
            )
            lock = _wrong_code(request)
            status = _too_many(form, lock) if lock is not None else 400
    return render(request, "oauthapps/device_entry.html", {"form": form}, status=status)


def _device_consent_context(request, form, grant, scopes):
    options = [
        {"membership": m, "problem": grant_problem(m, request.user, scopes)}
        for m in form.memberships.values()
    ]
    return {
        "form": form,
        "application": grant.application,
        "scopes": describe(scopes),
        "device_grant": grant,
        "options": options,
        "single_option": options[0] if len(options) == 1 else None,
        "reviewed": grant.application.account_id in form.memberships,
    }


@require_http_methods(["GET", "POST"])
@login_required
@xframe_options_deny
@never_cache
def device_consent(request, pk):
    """The consent screen for a code this person typed (anyone else's is a 404)."""
    grant = get_object_or_404(
        DeviceGrant.objects.select_related("application__account"),
        pk=pk,
        user=request.user,
        status=DeviceGrant.AUTHORIZATION_PENDING,
        expires__gt=timezone.now(),
    )
    scopes = grant.scope.split()
    memberships = list(request.user.memberships.select_related("account").order_by("account__name"))
    current = getattr(request.membership, "account_id", None)
    form = ConsentForm(request.POST or None, memberships=memberships, initial={"account": current})
    status = 200
    if request.method == "POST" and form.is_valid():
        membership = form.cleaned_data["account"]
        approve = form.cleaned_data["decision"] == "approve"
        problem = approve and grant_problem(membership, request.user, scopes)
        if problem:
            form.add_error("account", problem)
            status = 403
        else:
            with transaction.atomic():
                services.device_grant_decide(
                    grant=grant,
                    user=request.user,
                    account=membership.account,
                    approve=approve,
                    actor=Actor.from_request(request),
                )
            context = {"application": grant.application, "approved": approve}
            return render(request, "oauthapps/device_done.html", context)
    context = _device_consent_context(request, form, grant, scopes)
    return render(request, "oauthapps/authorize.html", context, status=status)
