"""Settings → OAuth Applications: register, inspect, edit, reset the secret of and delete clients.

Team admins of the current account only (others get a 404). Applications belong to the account;
another account's application is a 404 through ``_application_or_404``. The client secret is shown
once, on the page rendered from the POST that created it (``Cache-Control: no-store``).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import Actor
from oauthapps import services
from oauthapps.forms import ApplicationForm
from oauthapps.models import Application, Authorization
from statuspool.accounts.decorators import team_admin_required
from statuspool.accounts.sudo import SudoForm, sudo_confirm
from usage import charts, insight


def _application_or_404(request, pk) -> Application:
    return get_object_or_404(Application.objects.for_account(request.account), pk=pk)


def _active_grants():
    return Count("authorizations", filter=Q(authorizations__revoked_at__isnull=True))


def _show_secret(request, application, secret, *, reset: bool):
    response = render(
        request,
        "oauthapps/application_secret.html",
        {"application": application, "client_secret": secret, "reset": reset},
    )
    add_never_cache_headers(response)  # no-store: the secret must not sit in any cache
    return response


@require_GET
@login_required
@team_admin_required
def application_list(request):
    applications = (
        Application.objects.for_account(request.account)
        .annotate(active_grants=_active_grants())
        .select_related("created_by")
    )
    return render(request, "oauthapps/application_list.html", {"applications": applications})


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def application_register(request):
    form = ApplicationForm(request.POST or None, request.FILES or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        with transaction.atomic():
            application, secret = services.application_register(
                account=request.account,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                redirect_uris=form.cleaned_data["redirect_uris"],
                actor=actor,
                created_by=request.user,
                client_kind=form.cleaned_data["client_kind"],
                **form.profile(),
            )
            if form.cleaned_data["logo"]:
                services.application_set_logo(
                    application=application, png=form.cleaned_data["logo"], actor=actor
                )
        if application.is_device_client:
            messages.success(request, f"“{application.name}” was registered as a public client.")
            return redirect("oauthapps:application_detail", pk=application.pk)
        return _show_secret(request, application, secret, reset=False)
    return render(request, "oauthapps/application_form.html", {"form": form, "application": None})


@require_GET
@login_required
@team_admin_required
def application_detail(request, pk):
    application = get_object_or_404(
        Application.objects.for_account(request.account)
        .annotate(active_grants=_active_grants())
        .select_related("created_by"),
        pk=pk,
    )
    # This account's grants of the application, revoked ones too: their past requests still count.
    grants = Authorization.objects.filter(application=application, account=request.account)
    usage = insight.credential_usage(
        "oauth_authorization",
        list(grants.values_list("pk", flat=True)),
        charts.window_from(request),
    )
    context = {
        "application": application,
        **charts.credential_usage_context(usage, subject="by this application in this account"),
    }
    return render(request, "oauthapps/application_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def application_edit(request, pk):
    application = _application_or_404(request, pk)
    form = ApplicationForm(
        request.POST or None, request.FILES or None, account=request.account, instance=application
    )
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        with transaction.atomic():
            services.application_update(
                application=application,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                redirect_uris=form.cleaned_data["redirect_uris"],
                actor=actor,
                **form.profile(),
            )
            if form.cleaned_data["logo"] or form.cleaned_data["remove_logo"]:
                services.application_set_logo(
                    application=application, png=form.cleaned_data["logo"], actor=actor
                )
        messages.success(request, f"“{application.name}” was updated.")
        return redirect("oauthapps:application_detail", pk=application.pk)
    context = {"form": form, "application": application}
    return render(request, "oauthapps/application_form.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def application_reset_secret(request, pk):
    application = _application_or_404(request, pk)
    if application.is_device_client:
        raise Http404("A public client has no secret.")
    sudo_form = SudoForm(request.POST or None)
    if request.method == "POST" and sudo_confirm(request, sudo_form, purpose="oauth.secret_reset"):
        secret = services.application_reset_secret(
            application=application, actor=Actor.from_request(request)
        )
        return _show_secret(request, application, secret, reset=True)
    context = {"application": application, "sudo_form": sudo_form}
    return render(request, "oauthapps/application_reset_secret.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def application_delete(request, pk):
    application = get_object_or_404(
        Application.objects.for_account(request.account).annotate(
            active_grants=_active_grants(),
            # "Nobody has connected it yet" would be untrue once a grant was revoked.
            grants_ever=Count("authorizations"),
        ),
        pk=pk,
    )
    sudo_form = SudoForm(request.POST or None)
    if request.method == "POST" and sudo_confirm(
        request, sudo_form, purpose="oauth.application_deleted"
    ):
        name = application.name
        services.application_delete(application=application, actor=Actor.from_request(request))
        messages.success(request, f"“{name}” was deleted and every token it held was revoked.")
        return redirect("oauthapps:application_list")
    context = {"application": application, "sudo_form": sudo_form}
    return render(request, "oauthapps/application_delete.html", context)
