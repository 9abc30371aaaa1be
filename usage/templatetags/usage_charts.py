"""Template helpers of the usage pages: figures as people read them, and the 7-day sparkline.

The sparkline is an inline SVG drawn here, on the server: one per row of a list is far cheaper
than a canvas and a script each, it needs no JavaScript, and its bars are presentation attributes
(not style attributes), which the Content-Security-Policy allows.
"""

from django import template
from django.utils.html import format_html, format_html_join

from usage.charts import sparkline_label

register = template.Library()

# Drawing box of a sparkline (SVG user units = CSS pixels at its natural size).
_BAR_WIDTH, _GAP, _HEIGHT = 6, 2, 20


@register.filter
def percent(rate) -> str:
    """0.0123 → "1.2%"; a rate under a tenth of a percent that is not zero says so."""
    if rate is None:
        return "—"
    if 0 < rate < 0.001:
        return "< 0.1%"
    return f"{rate * 100:.1f}%"


@register.filter
def milliseconds(value) -> str:
    return "—" if value is None else f"{value} ms"


@register.simple_tag
def sparkline(values, with_total: bool = False):
    """Bars of requests per day, oldest first; a day without requests is a 1-unit baseline.
    ``with_total`` adds the sum beside it, for readers who want the number, not the shape."""
    values = list(values or [])
    peak = max(values, default=0)
    bars = []
    for index, value in enumerate(values):
        height = max(1, round(value / peak * _HEIGHT)) if peak else 1
        bars.append(
            (index * (_BAR_WIDTH + _GAP), _HEIGHT - height, height, "zero" if not value else "day")
        )
    width = max(len(values) * (_BAR_WIDTH + _GAP) - _GAP, 1)
    rects = format_html_join(
        "",
        '<rect x="{}" y="{}" width="' + str(_BAR_WIDTH) + '" height="{}" class="sparkline-{}"/>',
        bars,
    )
    svg = format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="{}"><title>{}</title>{}</svg>',
        width,
        _HEIGHT,
        width,
        _HEIGHT,
        sparkline_label(values),
        sparkline_label(values),
        rects,
    )
    if not with_total:
        return svg
    return format_html(
        '<span class="sparkline-with-total">{}<span class="sparkline-total" aria-hidden="true">'
        "{}</span></span>",
        svg,
        sum(values),
    )
