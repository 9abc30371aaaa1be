"""Settings → Connected Applications: the grants a person has given, and revoking them.

Every signed-in user sees only their own grants, across all their accounts; someone else's grant
is a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.services import Actor
from oauthapps import services
from oauthapps.models import Authorization
from usage import charts, insight


def _own_active(request):
    return Authorization.objects.active().for_user(request.user)


@require_GET
@login_required
def connected_list(request):
    authorizations = _own_active(request).select_related("application", "account")
    return render(request, "oauthapps/connected_list.html", {"authorizations": authorizations})


@require_GET
@login_required
def connected_detail(request, pk):
    """One grant and what the application did with it (the person's own grants only)."""
    authorization = get_object_or_404(
        _own_active(request).select_related("application", "account"), pk=pk
    )
    usage = insight.credential_usage(
        "oauth_authorization", [authorization.pk], charts.window_from(request)
    )
    context = {
        "authorization": authorization,
        **charts.credential_usage_context(usage, subject="by this application on your behalf"),
    }
    return render(request, "oauthapps/connected_detail.html", context)


@require_POST
@login_required
def connected_revoke(request, pk):
    authorization = get_object_or_404(_own_active(request).select_related("application"), pk=pk)
    services.authorization_revoke(
        authorization=authorization, actor=Actor.from_request(request), reason="revoked by user"
    )
    messages.success(
        request,
        f"Access for “{authorization.application.name}” was revoked. Its tokens stopped working.",
    )
    return redirect("oauthapps:connected_list")
