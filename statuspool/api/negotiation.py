"""Content negotiation for /v2, answered without parsing what nearly every client sends.

/v2 renders JSON only. DRF's negotiation parses the Accept header into media types and orders
them by precedence on every request, a measurable share of a warm request (issue 12), to reach
the same answer for the headers API clients send: none, ``*/*`` or ``application/json``. Those
are answered at once; anything else (another type, parameters, ``?format=``) goes through DRF's
own negotiation, 406 and 404 included. ``tests/api/test_negotiation.py`` holds both equal.
"""

from rest_framework.negotiation import DefaultContentNegotiation

# Accept values whose answer is the JSON renderer with its own media type.
_PLAIN_JSON_ACCEPTS = frozenset({None, "*/*", "application/json"})


class JsonApiNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            format_suffix is None
            and len(renderers) == 1
            and renderers[0].media_type == "application/json"
            and not request.META.get("QUERY_STRING")  # ?format= is DRF's to judge
            and request.META.get("HTTP_ACCEPT") in _PLAIN_JSON_ACCEPTS
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
