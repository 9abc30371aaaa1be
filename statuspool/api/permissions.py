"""Scope enforcement: each /v2 view declares the scope every HTTP method needs.

    class MonitorList(ApiView):
        required_scopes = {"GET": "monitors:read", "POST": "monitors:write"}

``None`` as a value means "any valid credential". A method that is not declared is refused (403),
and a test walks the URL resolver so no /v2 route can forget to declare its scopes.
"""

from rest_framework.permissions import BasePermission

from statuspool.api.errors import ApiError, InvalidToken

ANY_CREDENTIAL = None


def required_scope(view, method: str):
    scopes = getattr(view, "required_scopes", None)
    if scopes is None:
        raise RuntimeError(f"{type(view).__name__} declares no required_scopes")
    if method in ("HEAD", "OPTIONS") and method not in scopes:
        method = "GET"
    if method not in scopes:
        return "__undeclared__"
    return scopes[method]


class HasRequiredScope(BasePermission):
    def has_permission(self, request, view):
        credential = request.auth
        if credential is None:
            raise InvalidToken("Send your API key or access token as 'Authorization: Bearer …'.")
        scope = required_scope(view, request.method)
        if scope is ANY_CREDENTIAL:
            return True
        if scope == "__undeclared__" or not credential.has_scope(scope):
            raise ApiError(
                "insufficient_scope",
                f"This request needs the '{scope}' scope, which this credential does not have."
                if scope != "__undeclared__"
                else f"{request.method} is not allowed here.",
                403 if scope != "__undeclared__" else 405,
            )
        return True
