"""Settings → Usage: every credential of the account ranked over a window, and the busiest minutes
against the plan's per-minute limits. Team admins only (it lists every key and grant, as API
Access and the Audit Log do); everyone else gets a 404."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET

from statuspool.accounts.decorators import team_admin_required
from statuspool.api.throttling import limit_for
from usage import charts, insight

# ?sort= of the ranking: how each column orders (largest first), requests breaking ties.
SORTS = {
    "requests": lambda row: (row.total,),
    "error_rate": lambda row: (row.error_rate, row.total),
    "rate_limited": lambda row: (row.rate_limited, row.total),
}


def _pages(account, rows) -> dict:
    """(kind, id) → (name, URL) from the app that owns each kind (usage cannot import it)."""
    found = {}
    for kind, dotted in settings.USAGE_CREDENTIAL_PAGES.items():
        ids = [row.id for row in rows if row.kind == kind]
        if ids:
            for pk, page in import_string(dotted)(account=account, ids=ids).items():
                found[(kind, pk)] = page
    return found


@require_GET
@login_required
@team_admin_required
def account_usage(request):
    window = charts.window_from(request)
    sort = request.GET.get("sort", "")
    sort = sort if sort in SORTS else "requests"
    figures = insight.account_usage(request.account.pk, window)
    rows = sorted(figures.rows, key=SORTS[sort], reverse=True)
    pages = _pages(request.account, rows)
    plan = request.account.plan
    chart = charts.account_chart(
        figures, read_limit=limit_for(plan, "read"), write_limit=limit_for(plan, "write")
    )
    context = {
        "figures": figures,
        "rows": [{"row": row, "page": pages.get((row.kind, row.id))} for row in rows],
        "sort": sort,
        "usage_chart": chart,
        "usage_windows": charts.window_links(window, sort=sort),
        "usage_per": chart["per"],
        "plan_name": request.account.get_plan_display(),
        "read_limit": f"{chart['read_limit']:,}",
        "write_limit": f"{chart['write_limit']:,}",
    }
    return render(request, "usage/account_usage.html", context)
