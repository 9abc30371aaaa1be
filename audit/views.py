"""Settings → Audit Log and its CSV export."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import keyset
from audit.export import EVENT_COLUMNS, csv_lines, event_record
from audit.filters import AuditFilterForm, apply_filters, parse_public_id
from audit.models import AuditEvent
from statuspool import api_key_format
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


def whole_key_in_url(request) -> bool:
    return api_key_format.is_well_formed(request.GET.get("key", "").strip())


def without_secret(request):
    """Redirect to the same page with only the public id, so the key leaves the history."""
    messages.warning(request, LEAKED_KEY_WARNING)
    query = request.GET.copy()
    query["key"] = parse_public_id(query["key"])
    return redirect(f"{request.path}?{query.urlencode()}")


def csv_response(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
@team_admin_required
def audit_log(request):
    if whole_key_in_url(request):
        return without_secret(request)
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
    return csv_response(
        csv_lines(rows, EVENT_COLUMNS, event_record), f"audit-log-{request.account.pk}-{stamp}.csv"
    )
