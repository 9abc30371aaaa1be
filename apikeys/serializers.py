"""/v2 shapes of API key metadata. Never the digest, the pepper id, or anything derived from them."""

from rest_framework import serializers

from apikeys.models import ApiKey


class ApiKeySerializer(serializers.ModelSerializer):
    display_id = serializers.CharField(help_text="How the dashboard names the key: sp_live_<id>…")
    created_by = serializers.SerializerMethodField(help_text="Email of the creator, if a person.")
    rotated_from = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, help_text="Public id of the key this one replaced."
    )
    created_by_former_member = serializers.BooleanField(
        help_text="The creator has since left the account (the key stays with the account)."
    )
    is_stale = serializers.BooleanField(help_text="Not used for the stale period.")
    rotation_recommended = serializers.BooleanField(help_text="Older than 90 days.")

    class Meta:
        model = ApiKey
        fields = [
            "public_id",
            "display_id",
            "name",
            "description",
            "scopes",
            "status",
            "created_at",
            "created_by",
            "created_by_former_member",
            "last_used_at",
            "last_used_ip",
            "last_used_country",
            "expires_at",
            "grace_ends_at",
            "revoked_at",
            "revoked_reason",
            "rotated_from",
            "allowed_networks",
            "usage_alerts_enabled",
            "is_stale",
            "rotation_recommended",
        ]
        read_only_fields = fields

    def get_created_by(self, key) -> str | None:
        return key.created_by.email if key.created_by else None


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text='Why, e.g. "compromised". Recorded in the audit trail.',
    )
