"""/oauth/authorize: validate the request, log in, show the consent screen, redirect with a code.

Order matters (RFC 9700): the request is validated before anything else is shown — an unknown
client or a redirect URI that is not an exact registered match gets an error *page*, never a
redirect; any other error (a missing or malformed PKCE challenge, ``plain``, an unknown scope or
response type) is found before consent and sent back to the validated redirect URI with
``error=``, ``state`` and ``iss`` (RFC 6749 §4.1.2.1, RFC 9207). Only then does the person log in (with
2FA, through /login?next=…) and see the consent screen. The OAuth parameters stay in the URL; the
consent form posts back to that same URL with just the decision and the account, and the request
is validated again from scratch on POST, so nothing hidden in the form can be tampered with.

The page cannot be framed (X-Frame-Options: DENY, CSP frame-ancestors 'none'), is never cached,
and sends no Referer (its URL carries the state and the PKCE challenge). That last rule makes
browsers send ``Origin: null`` when the consent form is submitted, which Django's CSRF check would
reject; ``csrf_protect_no_referrer`` accepts it only when the browser itself vouches for a
same-origin submission (``Sec-Fetch-Site: same-origin``, a header pages cannot set), and the CSRF
token is checked as everywhere else.
"""

from functools import wraps
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.oauth2_backends import _add_iss_to_redirect
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors

from audit.services import Actor
from oauthapps import services
from oauthapps.forms import ConsentForm
from oauthapps.models import Application
from oauthapps.scopes import MEMBER_SCOPES, scopes_for_role
from statuspool.scopes import describe

ERROR_HELP = [
    (errors.MissingClientIdError, "The request does not name an application (client_id)."),
    (errors.InvalidClientIdError, "The application is not registered with StatusPool."),
    (errors.MissingRedirectURIError, "The application did not say where to send you back."),
    (
        (errors.MismatchingRedirectURIError, errors.InvalidRedirectURIError),
        "The redirect URI is not exactly one the application registered, so StatusPool will "
        "not send you there.",
    ),
    (errors.MissingCodeChallengeError, "The application did not send a PKCE code challenge."),
    (
        errors.UnsupportedCodeChallengeMethodError,
        "The application asked for a PKCE method other than S256, the only one accepted.",
    ),
    (
        errors.UnsupportedResponseTypeError,
        "Only the authorization code flow (response_type=code) is supported.",
    ),
    (errors.InvalidScopeError, "The application asked for a permission that does not exist."),
]


class _OAuthLib(OAuthLibMixin):
    """Gives these function views DOT's cached oauthlib core (our server and validator)."""


def _error_page(request, error, status=400):
    explanation = next((text for kind, text in ERROR_HELP if isinstance(error, kind)), "")
    context = {
        "error": getattr(error, "error", "invalid_request"),
        "explanation": explanation,
        "description": getattr(error, "description", "") or "The request is not valid.",
    }
    return render(request, "oauthapps/authorize_error.html", context, status=status)


def _error_redirect(request, oauthlib_error, application=None):
    """RFC 6749 §4.1.2.1: once the client and its redirect URI are validated, an error goes back
    to the client (``error``, ``error_description``, ``state``) with ``iss`` (RFC 9207), instead
    of a page the user cannot act on."""
    redirect_uri = oauthlib_error.redirect_uri
    separator = "&" if "?" in redirect_uri else "?"
    uri = redirect_uri + separator + oauthlib_error.urlencoded
    if oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS:
        uri = _add_iss_to_redirect(uri, oauth2_settings.oauth2_authorization_server_issuer(request))
    if application is None:
        client_id = request.GET.get("client_id") or request.POST.get("client_id") or ""
        application = Application.objects.filter(client_id=client_id).first()
    schemes = application.get_allowed_schemes() if application else ["https"]
    return OAuth2ResponseRedirect(uri, schemes)


def _refusal(request, toolkit_error):
    error = toolkit_error.oauthlib_error
    if isinstance(toolkit_error, FatalClientError) or not getattr(error, "redirect_uri", None):
        return _error_page(request, error)  # unknown client or redirect URI: never redirect
    return _error_redirect(request, error)


def grant_problem(membership, user, scopes) -> str:
    """Why this person cannot approve these scopes for this account ("" when they can)."""
    beyond = [scope for scope in scopes if scope not in scopes_for_role(membership.role)]
    if beyond:
        return (
            f"As a {membership.get_role_display().lower()} of {membership.account.name} you can "
            f"grant only {', '.join(sorted(scopes_for_role(membership.role)))}; this application "
            f"also asks for {', '.join(beyond)}. Ask a team admin to connect it, or ask the "
            "application for fewer permissions."
        )
    if set(scopes) - MEMBER_SCOPES and not user.has_2fa:
        return (
            "Granting admin or write permissions needs two-factor authentication on your "
            "StatusPool login. Set it up in Settings → Security, then try again."
        )
    return ""


def _consent_context(request, form, application, scopes, credentials):
    options = [
        {"membership": m, "problem": grant_problem(m, request.user, scopes)}
        for m in form.memberships.values()
    ]
    return {
        "form": form,
        "application": application,
        "scopes": describe(scopes),
        "redirect_host": urlsplit(credentials["redirect_uri"]).netloc,
        "options": options,
        "single_option": options[0] if len(options) == 1 else None,
        # Registered by an account the person is not in: a third party nobody here vouched for.
        "reviewed": application.account_id in form.memberships,
    }


def _redirect_back(request, application, scopes, credentials, allow: bool):
    """Let oauthlib build the client redirect: a code (approve) or error=access_denied (deny)."""
    try:
        uri, *_ = _OAuthLib.get_oauthlib_core().create_authorization_response(
            request, scopes, credentials, allow
        )
    except FatalClientError as error:
        return _error_page(request, error.oauthlib_error)
    except OAuthToolkitError as error:
        oauthlib_error = error.oauthlib_error
        oauthlib_error.redirect_uri = oauthlib_error.redirect_uri or credentials["redirect_uri"]
        return _error_redirect(request, oauthlib_error, application)
    return OAuth2ResponseRedirect(uri, application.get_allowed_schemes())


def _decide(request, form, application, scopes, credentials):
    membership = form.cleaned_data["account"]
    approve = form.cleaned_data["decision"] == "approve"
    if approve and (problem := grant_problem(membership, request.user, scopes)):
        form.add_error("account", problem)
        return None
    actor = Actor.from_request(request)
    common = {"user": request.user, "application": application, "account": membership.account}
    with transaction.atomic():  # the consent and its code are stored together, or neither
        if approve:
            credentials["oauth_authorization"] = services.authorization_approve(
                **common, scopes=scopes, actor=actor
            )
        else:
            services.authorization_deny(**common, scopes=scopes, actor=actor)
        response = _redirect_back(request, application, scopes, credentials, allow=approve)
        if response.status_code != 302:
            transaction.set_rollback(True)
        return response


def csrf_protect_no_referrer(view):
    """Django's CSRF protection for a page served with ``Referrer-Policy: no-referrer``."""
    protected = csrf_protect(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        meta = request.META
        if meta.get("HTTP_ORIGIN") == "null" and meta.get("HTTP_SEC_FETCH_SITE") == "same-origin":
            meta["HTTP_ORIGIN"] = f"{request.scheme}://{request.get_host()}"
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)  # the global middleware defers to csrf_protect above


def referrer_policy_no_referrer(view):
    """Every answer of the endpoint, redirects included: its URLs carry state and PKCE data."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper


class _NoAccount:
    error = "access_denied"
    description = (
        "Your StatusPool login does not belong to any account, so there is nothing to grant "
        "access to."
    )


@require_http_methods(["GET", "POST"])
@csrf_protect_no_referrer
@referrer_policy_no_referrer
@xframe_options_deny
@never_cache
def authorize(request):
    try:
        scopes, credentials = _OAuthLib.get_oauthlib_core().validate_authorization_request(request)
    except OAuthToolkitError as error:
        return _refusal(request, error)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    application = credentials.pop("request").client
    memberships = list(request.user.memberships.select_related("account").order_by("account__name"))
    if not memberships:
        return _error_page(request, _NoAccount(), status=403)
    current = getattr(request.membership, "account_id", None)
    form = ConsentForm(request.POST or None, memberships=memberships, initial={"account": current})
    status = 200
    if request.method == "POST" and form.is_valid():
        response = _decide(request, form, application, scopes, credentials)
        if response is not None:
            return response
        status = 403
    context = _consent_context(request, form, application, scopes, credentials)
    return render(request, "oauthapps/authorize.html", context, status=status)
