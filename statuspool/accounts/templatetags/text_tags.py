"""``{{ value|breakable }}``: long emails, ids, addresses and user agents may wrap at their natural
separators (after @ . - : / _ and spaces) instead of mid-word or not at all, so table columns
stay narrow without cutting a value in an odd place."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()

_SEPARATOR = re.compile(r"([@.\-:/_;,)])")


@register.filter
def breakable(value) -> str:
    if value in (None, ""):
        return ""
    return mark_safe(_SEPARATOR.sub(r"\1<wbr>", str(escape(value))))  # noqa: S308 (escaped above)  # nosec B308 B703  # the value is escaped first; only <wbr> is added
