"""The exposure review of one API key: "Requests made with this key" and their CSV export.

Mounted at /settings/audit-log/requests/ (beside the Audit Log, where incident response starts), but
it is a page about a key, so it lives with the key pages.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from apikeys.exposure import ExposureWindowForm, exposure_summary, incident_steps
from apikeys.models import ApiKey, Status
from audit import keyset
from audit.export import REQUEST_COLUMNS, csv_lines, request_record
from audit.filters import parse_public_id
from audit.views import csv_response, whole_key_in_url, without_secret
from statuspool.accounts.decorators import team_admin_required
from usage.models import RequestLog


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


def _key_window(request):
    """(key, window form, requests in the window or None when the window is invalid)."""
    key = _key_or_404(request)
    form = ExposureWindowForm(request.GET, key=key)
    if not form.is_valid():
        return key, form, None
    since, until = form.window()
    return key, form, RequestLog.objects.for_api_key(key).between(since, until)


@require_GET
@login_required
@team_admin_required
def key_requests(request):
    if whole_key_in_url(request):
        return without_secret(request)
    key, form, requests = _key_window(request)
    page = summary = None
    if requests is not None:
        page = keyset.paginate(
            requests, before=request.GET.get("before"), after=request.GET.get("after")
        )
        summary = exposure_summary(requests)
    window = {name: request.GET[name] for name in ("since", "until") if request.GET.get(name)}
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
            "window_query": urlencode({"key": key.public_id, **window}),
        },
    )


@require_GET
@login_required
@team_admin_required
def key_requests_export(request):
    key, form, requests = _key_window(request)
    if requests is None:
        messages.error(request, "Fix the time window before exporting.")
        return redirect(f"{reverse('apikeys_requests:requests')}?{request.GET.urlencode()}")
    rows = requests.order_by("-occurred_at", "-id").iterator(chunk_size=2000)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(
        csv_lines(rows, REQUEST_COLUMNS, request_record), f"requests-{key.public_id}-{stamp}.csv"
    )
