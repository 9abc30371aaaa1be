"""Test-only URLs: two throwaway views behind the access decorators, beside the real URL map."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path

from statuspool.accounts.decorators import membership_required, team_admin_required


@login_required
@team_admin_required
def admin_only(request):
    return HttpResponse(f"admin of {request.account.pk}")


@login_required
@membership_required
def members_only(request):
    return HttpResponse(f"member of {request.account.pk}")


urlpatterns = [
    path("_test/admin-only/", admin_only),
    path("_test/members-only/", members_only),
    path("_test/bare-admin-only/", team_admin_required(lambda request: HttpResponse("ok"))),
    path("", include("statuspool.urls")),
]
