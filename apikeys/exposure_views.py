"""The exposure review of one API key: "Requests made with this key", searched with the request
search's filters (``usage.search``), and their CSV / JSON Lines export.

Mounted at /settings/audit-log/requests/ (beside the Audit Log, where incident response starts), but
it is a page about a key, so it lives with the key pages.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apikeys.exposure import ExposureSearchForm, exposure_summary, incident_steps
from apikeys.models import ApiKey, Status
from audit.filters import parse_public_id
from audit.views import whole_key_in_url, without_secret
from statuspool.accounts.decorators import team_admin_required
from usage import export
from usage.models import RequestLog
from usage.search import in_window, matching, search_page


def _key_or_404(request) -> ApiKey:
    public_id = parse_public_id(request.GET.get("key", ""))
    key = (
        ApiKey.objects.for_account(request.account)
        .filter(public_id=public_id)
        .select_related("revoked_by", "created_by", "rotated_to")
        .first()
        if public_id
        else None
    )
    if key is None:
        raise Http404("No such key in this account")
    return key


def _key_search(request):
    """(key, search form, its requests in the search's window or None when the filters are
    invalid); ``matching(window, form.cleaned_data)`` are the requests found."""
    key = _key_or_404(request)
    form = ExposureSearchForm(request.GET, key=key)
    if not form.is_valid():
        return key, form, None
    return key, form, in_window(RequestLog.objects.for_api_key(key), form.cleaned_data)


@require_GET
@login_required
@team_admin_required
def key_requests(request):
    if whole_key_in_url(request):
        return without_secret(request)
    key, form, window = _key_search(request)
    page = summary = None
    if window is not None:
        page = search_page(
            matching(window, form.cleaned_data),
            scope=f"api_key:{key.pk}",
            before=request.GET.get("before"),
            after=request.GET.get("after"),
        )
        summary = exposure_summary(window, form.cleaned_data)
    return render(
        request,
        "apikeys/key_requests.html",
        {
            "key": key,
            "form": form,
            "page": page,
            "summary": summary,
            "steps": incident_steps(key),
            "is_revoked": key.status == Status.REVOKED,
            "filter_query": urlencode({"key": key.public_id, **form.query()}),
            "export_limit": f"{export.EXPORT_LIMIT:,} rows",
        },
    )


@require_GET
@login_required
@team_admin_required
def key_requests_export(request, fmt):
    if whole_key_in_url(request):
        return without_secret(request)
    key, form, window = _key_search(request)
    if window is None:
        messages.error(request, "Fix the filters before exporting.")
        return redirect(f"{reverse('apikeys_requests:requests')}?{request.GET.urlencode()}")
    requests = matching(window, form.cleaned_data)
    return export.export_response(requests, fmt, name=f"requests-{key.public_id}")
