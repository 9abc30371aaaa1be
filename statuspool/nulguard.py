"""No NUL character reaches the database from a URL.

PostgreSQL text cannot hold U+0000, so ``/v2/api-keys/a%00b`` or ``?actor=a%00b`` used in a lookup
fail inside the query, as a 500. Forms and serializers already refuse NUL in what they clean
(Django's and DRF's ``ProhibitNullCharactersValidator``); path segments and query parameters read
directly do not, so this middleware answers before any view: a path with NUL names nothing (404),
a query parameter with NUL is a bad request (400). JSON under ``/v2``, the usual pages elsewhere.
"""

from django.http import JsonResponse
from django.views import defaults


def _is_api(path: str) -> bool:
    return path == "/v2" or path.startswith("/v2/")


def _has_nul_parameter(query) -> bool:
    return any("\x00" in text for name, values in query.lists() for text in (name, *values))


class NulGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            if _is_api(request.path):
                body = {
                    "error": {"code": "not_found", "message": "No such object in this account."}
                }
                return JsonResponse(body, status=404)
            return defaults.page_not_found(request, exception=None)
        if "\x00" in request.META.get("QUERY_STRING", "") or _has_nul_parameter(request.GET):
            if _is_api(request.path):
                message = "Query parameters cannot contain NUL characters."
                return JsonResponse(
                    {"error": {"code": "invalid_request", "message": message}}, status=400
                )
            return defaults.bad_request(request, exception=None)
        return self.get_response(request)
