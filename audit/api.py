"""GET /v2/audit-log: the account's audit trail, newest first, with the Audit Log's filters."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from audit.filters import AuditFilterForm, apply_filters
from audit.models import ActorKind, AuditEvent
from statuspool.api.generics import ListMixin
from statuspool.api.pagination import CursorPagination
from statuspool.api.views import GenericApiView


class NewestEvents(CursorPagination):
    # The cursor holds occurred_at, so any page is an index range scan (no OFFSET).
    ordering = ("-occurred_at", "-id")


class ActorSerializer(serializers.Serializer):
    email = serializers.CharField(
        source="actor_email", help_text="Kept even if the user is deleted."
    )
    kind = serializers.ChoiceField(source="actor_kind", choices=ActorKind.choices)
    label = serializers.CharField(
        source="actor_label", help_text="The key's public id or the application's name."
    )


class TargetSerializer(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.CharField(source="target_id")
    label = serializers.CharField(source="target_label")


class AuditEventSerializer(serializers.ModelSerializer):
    actor = ActorSerializer(source="*")
    target = TargetSerializer(source="*")
    details = serializers.DictField(help_text="What changed; never a secret.")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "action",
            "actor",
            "ip",
            "user_agent",
            "target",
            "details",
            "prev_hash",
            "hash",
        ]


_PARAMETERS = [
    OpenApiParameter("action", str, description="Only this action, e.g. `apikey.revoked`."),
    OpenApiParameter("actor", str, description="Only events by this user (email)."),
    OpenApiParameter(
        "key_id",
        str,
        description="An API key's public id (e.g. `4f8a2c91`): events about that key and events "
        "it caused. (Named key_id because /v2 refuses a `key` parameter: it would carry "
        "credentials.)",
    ),
    OpenApiParameter(
        "since",
        OpenApiTypes.STR,
        description="From this moment, inclusive: ISO 8601 date-time (UTC when no offset) or "
        "date (start of that UTC day).",
    ),
    OpenApiParameter(
        "until",
        OpenApiTypes.STR,
        description="Before this moment: ISO 8601 date-time, or a date (through the end of that "
        "UTC day).",
    ),
]


@extend_schema_view(get=extend_schema(parameters=_PARAMETERS, operation_id="audit_log_list"))
class AuditLogList(ListMixin, GenericApiView):
    """The account's audit events, newest first: key, OAuth and sign-in events."""

    required_scopes = {"GET": "teams:admin"}
    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    pagination_class = NewestEvents

    def filter_queryset(self, queryset):
        params = self.request.query_params
        form = AuditFilterForm({**params.dict(), "key": params.get("key_id", "")})
        if not form.is_valid():
            raise ValidationError(
                {
                    ("key_id" if name == "key" else name): list(errors)
                    for name, errors in form.errors.items()
                }
            )
        return apply_filters(queryset, account_id=self.credential.account_id, **form.cleaned_data)
