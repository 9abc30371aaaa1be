"""The read-only Monitors pages: every member of the current account may look, nobody else."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from statuspool.monitoring.models import AlertRule, Monitor, uptime_window
from statuspool.monitoring.uptime import day_cells, window_percent

INCIDENTS_SHOWN = 50


def _current_account(request):
    # request.account is a lazy object that may wrap None (a user without any membership).
    return request.account if request.account else None


def _monitor_for(request, monitor_id: int) -> Monitor:
    """The monitor if it belongs to the current account; anything else is a 404, never a 403."""
    monitors = Monitor.objects.for_account(_current_account(request)).with_open_incident()
    return get_object_or_404(monitors, pk=monitor_id)


@require_GET
@login_required
def monitor_list(request):
    account = _current_account(request)
    start, end = uptime_window()
    rows = []
    if account is not None:
        monitors = Monitor.objects.for_account(account).with_open_incident()
        for monitor in monitors.with_recent_uptime(start):
            days = monitor.recent_uptime_days
            rows.append(
                {
                    "monitor": monitor,
                    "cells": day_cells(days, start, end),
                    "percent": window_percent(days),
                }
            )
    # Down monitors first (what needs attention), then paused, then up; by name within each.
    order = {"down": 0, "paused": 1}
    rows.sort(key=lambda row: (order.get(row["monitor"].current_status, 2), row["monitor"].name))
    return render(
        request,
        "monitoring/monitor_list.html",
        {"account": account, "rows": rows, "window_days": (end - start).days + 1},
    )


@require_GET
@login_required
def monitor_detail(request, monitor_id: int):
    monitor = _monitor_for(request, monitor_id)
    start, end = uptime_window()
    days = list(monitor.uptime_days.filter(day__gte=start).order_by("day"))
    context = {
        "monitor": monitor,
        "cells": day_cells(days, start, end),
        "percent": window_percent(days),
        "days_newest_first": days[::-1],
        "window_days": (end - start).days + 1,
        "incidents": list(monitor.incidents.all()[:INCIDENTS_SHOWN]),
        "incidents_shown": INCIDENTS_SHOWN,
        "rules": AlertRule.objects.applying_to(monitor).prefetch_related("channels"),
    }
    return render(request, "monitoring/monitor_detail.html", context)
