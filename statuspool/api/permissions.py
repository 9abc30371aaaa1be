"""Scope enforcement: each /v2 view declares the scope every HTTP method needs.

    class MonitorList(GenericApiView):
        required_scopes = {"GET": "monitors:read", "POST": "monitors:write"}

``None`` as a value means "any valid credential". HEAD needs what GET needs; OPTIONS (which only
describes the endpoint) needs any valid credential. A method that is not declared is refused with
405, and a test walks the URL resolver so no /v2 route can forget to declare its scopes.
"""

from rest_framework.permissions import BasePermission

from statuspool.api.errors import ApiError, InvalidToken

ANY_CREDENTIAL = None
UNDECLARED = object()


def required_scope(view, method: str):
    """The scope ``method`` needs on ``view``: a string, ANY_CREDENTIAL or UNDECLARED."""
    scopes = getattr(view, "required_scopes", None)
    if scopes is None:
        raise RuntimeError(f"{type(view).__name__} declares no required_scopes")
    if method == "HEAD" and method not in scopes:
        method = "GET"
    if method == "OPTIONS" and method not in scopes:
        return ANY_CREDENTIAL
    return scopes.get(method, UNDECLARED)


class HasRequiredScope(BasePermission):
    def has_permission(self, request, view):
        credential = request.auth
        if credential is None:
            raise InvalidToken("Send your API key or access token as 'Authorization: Bearer …'.")
        scope = required_scope(view, request.method)
        if scope is UNDECLARED:
            raise ApiError("method_not_allowed", f"{request.method} is not allowed here.", 405)
        if scope is not ANY_CREDENTIAL and not credential.has_scope(scope):
            raise ApiError(
                "insufficient_scope",
                f"This request needs the '{scope}' scope, which this credential does not have.",
                403,
            )
        return True
