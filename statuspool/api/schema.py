"""OpenAPI 3 for /v2 (drf-spectacular): the Bearer scheme, each operation's scope, the error shape.

The scope each operation needs is read from the view's ``required_scopes``, the same declaration
the permission class enforces, so the documentation cannot drift from the behaviour.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from statuspool.scopes import SCOPES

_UNDECLARED = object()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable, e.g. invalid_token, insufficient_scope."
    )
    message = serializers.CharField(help_text="What went wrong and what to do about it.")
    fields = serializers.DictField(
        required=False, help_text="Per-field messages when the request body is not valid."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class BearerCredentialScheme(OpenApiAuthenticationExtension):
    target_class = "statuspool.api.authentication.BearerCredentialAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sp_live_… (API key) or sp_oat_… (OAuth access token)",
            "description": (
                "Send an API key or an OAuth 2.0 access token as `Authorization: Bearer …`. "
                "Credentials in the URL or the request body are refused. Each operation lists "
                "the scope it needs. Scopes:\n\n"
                + "\n".join(f"- `{name}`: {text}" for name, text in SCOPES.items())
            ),
        }


def _scope_of(view, method: str):
    scopes = getattr(view, "required_scopes", None) or {}
    if method == "HEAD" and method not in scopes:
        method = "GET"
    return scopes.get(method, _UNDECLARED)


class ApiAutoSchema(AutoSchema):
    def _is_create_operation(self) -> bool:
        # Our CreateMixin answers 201; drf-spectacular only recognises DRF's generic classes.
        return self.method == "POST" and getattr(self.view, "creates_objects", False)

    def get_request_serializer(self):
        input_class = getattr(self.view, "input_serializer_class", None)
        if input_class is not None:
            return input_class(context={"view": self.view})
        return super().get_request_serializer()

    def get_description(self) -> str:
        description = (super().get_description() or "").strip()
        scope = _scope_of(self.view, self.method)
        if scope is _UNDECLARED:
            return description
        needs = (
            f"**Required scope:** `{scope}` ({SCOPES.get(scope, '')})"
            if scope
            else "**Required scope:** none (any valid credential)"
        )
        return f"{description}\n\n{needs}" if description else needs

    def _error_statuses(self):
        yield "400", "Invalid request (body, parameters, or a credential outside the header)."
        yield "401", "Missing, malformed, unknown, expired, revoked or suspended credential."
        if _scope_of(self.view, self.method):
            yield "403", "The credential lacks the scope, or the client IP is not allowed."
        if "{" in self.path:
            yield "404", "No such object in the credential's account."
        yield "429", "Rate limit exceeded; see Retry-After."

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status_code, description in self._error_statuses():
            if status_code not in responses:
                response = self._get_response_for_code(ErrorSerializer, status_code)
                responses[status_code] = {**response, "description": description}
        return responses
