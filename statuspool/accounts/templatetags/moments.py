"""``{% when value %}``: the dashboard's one template tag for a moment (see statuspool/timefmt.py).

``{% when value %}``            2026-12-01 14:06 CET, UTC on hover
``{% when value "relative" %}`` 3 hours ago, the exact local and UTC values on hover (lists)
``{% when value "text" %}``     plain text for emails and attributes: 2026-12-01 14:06 CET
``{% when value "utc-day" %}``  a calendar day of UTC-day totals: 2026-12-01 (UTC day)
"""

from datetime import UTC

from django import template
from django.utils.html import format_html

from statuspool import timefmt

register = template.Library()


@register.simple_tag
def when(value, style: str = "exact", empty: str = ""):
    if timefmt.as_moment(value) is None:
        return empty
    if style == "text":
        return timefmt.exact(value)
    if style == "utc-day":
        day = timefmt.as_moment(value).astimezone(UTC)
        return format_html(
            '<time datetime="{}" title="{} 00:00 to 24:00 UTC" data-zone="UTC">{} (UTC day)</time>',
            f"{day:%Y-%m-%d}",
            f"{day:%a %Y-%m-%d}",
            f"{day:%a %Y-%m-%d}",
        )
    if style == "relative":
        shown = timefmt.relative(value)
        hover = f"{timefmt.exact(value)} ({timefmt.exact_utc(value)})"
    elif style == "exact":
        shown = timefmt.exact(value)
        hover = timefmt.exact_utc(value)
    else:
        raise template.TemplateSyntaxError(f"{{% when %}} has no style {style!r}")
    return format_html(
        '<time datetime="{}" title="{}" data-zone="{}">{}</time>',
        timefmt.iso_utc(value),
        hover,
        timefmt.zone_name(),
        shown,
    )
