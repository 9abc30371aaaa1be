"""Settings → Audit Log, its CSV export, and the exposure review of one API key's requests."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from apikeys import tokens
from apikeys.models import ApiKey, Status
from audit import keyset
from audit.export import EVENT_COLUMNS, REQUEST_COLUMNS, csv_lines, event_record, request_record
from audit.exposure import ExposureWindowForm, exposure_summary, incident_steps
from audit.filters import AuditFilterForm, apply_filters, parse_public_id
from audit.models import AuditEvent, RequestLog
from statuspool.accounts.decorators import team_admin_required

LEAKED_KEY_WARNING = (
    "That looked like a whole API key, and it was sent in this page's address. Only the public "
    "id is needed here. If the key is still active, treat it as exposed: rotate or revoke it."
)


def _filtered_events(request):
    """(form, queryset or None when the filters are invalid) for the current account."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    queryset = apply_filters(
        AuditEvent.objects.all(), account_id=request.account.pk, **form.cleaned_data
    )
    return form, queryset


def _whole_key_in_url(request) -> bool:
    return tokens.is_well_formed(request.GET.get("key", "").strip())


def _without_secret(request):
    """Redirect to the same page with only the public id, so the key leaves the history."""
    messages.warning(request, LEAKED_KEY_WARNING)
    query = request.GET.copy()
    query["key"] = parse_public_id(query["key"])
    return redirect(f"{request.path}?{query.urlencode()}")


def _csv_response(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
@team_admin_required
def audit_log(request):
    if _whole_key_in_url(request):
        return _without_secret(request)
    form, events = _filtered_events(request)
    page = None
    if events is not None:
        page = keyset.paginate(
            events, before=request.GET.get("before"), after=request.GET.get("after")
        )
    filters = {name: request.GET[name] for name in form.fields if request.GET.get(name)}
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "page": page,
            "filter_query": urlencode(filters),
            "is_filtered": bool(filters),
        },
    )


@require_GET
@login_required
@team_admin_required
def audit_log_export(request):
    form, events = _filtered_events(request)
    if events is None:
        messages.error(request, "Fix the filters before exporting.")
        return redirect(f"{reverse('audit:log')}?{request.GET.urlencode()}")
    rows = events.order_by("-occurred_at", "-id").iterator(chunk_size=2000)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return _csv_response(
        csv_lines(rows, EVENT_COLUMNS, event_record), f"audit-log-{request.account.pk}-{stamp}.csv"
    )


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
    if _whole_key_in_url(request):
        return _without_secret(request)
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
        "audit/key_requests.html",
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
        return redirect(f"{reverse('audit:requests')}?{request.GET.urlencode()}")
    rows = requests.order_by("-occurred_at", "-id").iterator(chunk_size=2000)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return _csv_response(
        csv_lines(rows, REQUEST_COLUMNS, request_record), f"requests-{key.public_id}-{stamp}.csv"
    )
