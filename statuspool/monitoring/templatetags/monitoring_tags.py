"""The uptime strip: an inline SVG, because the CSP forbids inline styles (bar colours are attributes)."""

from django import template

from statuspool.monitoring.uptime import level_for

register = template.Library()

BAR_WIDTH = 3
BAR_STEP = 4  # bar width plus a 1-unit gap
COLOURS = {"up": "#3fb950", "degraded": "#d4a72c", "down": "#cf222e", "nodata": "#d9dee5"}
LABELS = {"up": "operational", "degraded": "degraded", "down": "outage", "nodata": "no data"}


@register.inclusion_tag("monitoring/_uptime_strip.html")
def uptime_strip(cells, percent=None, height=28):
    bars = [
        {
            "x": index * BAR_STEP,
            "fill": COLOURS[cell.level],
            # Days are UTC days (uptime is totalled per UTC day): the title says so.
            "title": f"{cell.day:%a %Y-%m-%d} (UTC day): "
            + (LABELS["nodata"] if cell.percent is None else f"{cell.percent:.2f}% uptime"),
        }
        for index, cell in enumerate(cells)
    ]
    counts = {level: sum(1 for c in cells if c.level == level) for level in ("degraded", "down")}
    summary = f"{len(cells)}-day uptime" + ("" if percent is None else f" {percent:.2f}%")
    summary += f", {counts['down']} days with an outage, {counts['degraded']} degraded"
    return {
        "bars": bars,
        "width": max(len(cells) * BAR_STEP - 1, 1),
        "bar_width": BAR_WIDTH,
        "height": height,
        "summary": summary,
    }


@register.filter
def uptime_level(percent):
    """CSS badge suffix for an uptime percentage (used in the day table)."""
    return {"up": "up", "degraded": "warn", "down": "down", "nodata": "neutral"}[level_for(percent)]


@register.filter
def timedelta_text(value):
    """A duration as "3 d 4 h", "2 h 14 min" or "35 min" (incidents are minutes to days long)."""
    minutes = max(int(value.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"
