"""/v2 shapes of the monitoring models. Validation lives here; there is no other logic."""

import re

from django.core.validators import URLValidator
from rest_framework import serializers

from statuspool.monitoring.models import (
    AlertDispatch,
    AlertRule,
    Incident,
    Monitor,
    NotificationChannel,
    UptimeDay,
)

_HTTP_URL = URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")
_HTTPS_URL = URLValidator(schemes=["https"], message="Enter an https:// URL.")
_PAGERDUTY_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
# DRF's own datetime output (ISO 8601 in the current time zone, "Z" for UTC), for the
# representations built without walking the fields.
_DATETIME = serializers.DateTimeField()


def _range(low: int, high: int, what: str) -> dict:
    message = f"{what} must be between {low} and {high}."
    return {
        "min_value": low,
        "max_value": high,
        "error_messages": {
            "min_value": message,
            "max_value": message,
            "invalid": f"{what} must be a whole number.",
        },
    }


class MonitorSerializer(serializers.ModelSerializer):
    """A monitor and its check configuration (input and output)."""

    name = serializers.CharField(max_length=100, trim_whitespace=True)
    url = serializers.CharField(
        max_length=500, validators=[_HTTP_URL], help_text="The address that is checked."
    )
    method = serializers.ChoiceField(
        choices=Monitor.Method.choices,
        default=Monitor.Method.GET,
        error_messages={"invalid_choice": "method must be one of GET, HEAD or POST."},
    )
    interval_seconds = serializers.IntegerField(
        default=60,
        help_text="Seconds between checks (30–86400).",
        **_range(30, 86400, "interval_seconds"),
    )
    timeout_seconds = serializers.IntegerField(
        default=10,
        help_text="Seconds before a check fails (1–60), shorter than the interval.",
        **_range(1, 60, "timeout_seconds"),
    )
    expected_status = serializers.IntegerField(
        default=200,
        help_text="The HTTP status a healthy check returns.",
        **_range(100, 599, "expected_status"),
    )
    status = serializers.SerializerMethodField(
        help_text="up, down (an incident is open) or paused."
    )

    class Meta:
        model = Monitor
        fields = [
            "id",
            "name",
            "url",
            "method",
            "interval_seconds",
            "timeout_seconds",
            "expected_status",
            "paused",
            "status",
            "created_at",
        ]
        read_only_fields = ["id", "status", "created_at"]

    def get_status(self, monitor) -> str:
        return monitor.current_status

    def to_representation(self, monitor) -> dict:
        """The output, built directly rather than field by field.

        DRF's generic walk (and the deep copy of the declared fields it needs first) cost more
        than the rest of ``GET /v2/monitors`` together: half of the request for a page of 20
        (issue 12). The fields above still validate input and describe the schema;
        ``tests/monitoring/test_serializers.py`` holds this equal to DRF's own output.
        """
        return {
            "id": monitor.id,
            "name": str(monitor.name),
            "url": str(monitor.url),
            "method": str(monitor.method),
            "interval_seconds": int(monitor.interval_seconds),
            "timeout_seconds": int(monitor.timeout_seconds),
            "expected_status": int(monitor.expected_status),
            "paused": bool(monitor.paused),
            "status": monitor.current_status,
            "created_at": _DATETIME.to_representation(monitor.created_at),
        }

    def validate(self, attrs):
        interval = attrs.get("interval_seconds", getattr(self.instance, "interval_seconds", 60))
        timeout = attrs.get("timeout_seconds", getattr(self.instance, "timeout_seconds", 10))
        if timeout >= interval:
            raise serializers.ValidationError(
                {"timeout_seconds": "timeout_seconds must be shorter than interval_seconds."}
            )
        return attrs


class UptimeDaySerializer(serializers.ModelSerializer):
    uptime_percent = serializers.FloatField(read_only=True)

    class Meta:
        model = UptimeDay
        fields = ["day", "checks", "failures", "uptime_percent", "avg_response_ms"]


class UptimeSerializer(serializers.Serializer):
    monitor = serializers.IntegerField(help_text="The monitor's id.")
    days = serializers.IntegerField(help_text="The window asked for, in UTC days up to today.")
    uptime_percent = serializers.FloatField(
        allow_null=True, help_text="Over the window; null when no check ran in it."
    )
    history = UptimeDaySerializer(
        many=True, help_text="One entry per day with checks, newest first."
    )


class UptimeQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, default=30, **_range(1, 365, "days"))


class IncidentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Incident
        fields = ["id", "monitor", "status", "cause", "started_at", "resolved_at"]


class IncidentQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)


class ChannelSerializer(serializers.ModelSerializer):
    """Output: the secret itself is never returned, only whether one is set."""

    has_secret = serializers.BooleanField(read_only=True)

    class Meta:
        model = NotificationChannel
        fields = ["id", "name", "kind", "address", "has_secret", "created_at"]


class ChannelInputSerializer(serializers.ModelSerializer):
    """Input. ``secret`` is write-only: the Slack/webhook URL or the PagerDuty routing key."""

    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=2000,
        style={"input_type": "password"},
        help_text="Slack or webhook: the https:// URL. PagerDuty: the 32-character routing key. "
        "Write-only; omit it on update to keep the current one.",
    )

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "address", "secret"]
        extra_kwargs = {"address": {"help_text": "The recipient of an email channel."}}

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        address = attrs.get("address", getattr(self.instance, "address", ""))
        secret = attrs.get("secret")
        kind_changed = self.instance is not None and kind != self.instance.kind
        if kind == NotificationChannel.Kind.EMAIL:
            if not address:
                raise serializers.ValidationError({"address": "An email channel needs an address."})
            if secret:
                raise serializers.ValidationError({"secret": "An email channel has no secret."})  # nosec B105  # a field name or label, not a secret
            attrs["secret"] = None  # switching to email drops a previous kind's credential
            return attrs
        if address:
            raise serializers.ValidationError({"address": "Only email channels have an address."})
        if secret is None and (self.instance is None or kind_changed):
            raise serializers.ValidationError({"secret": f"A {kind} channel needs its secret."})
        if secret is not None:
            attrs["secret"] = self._checked_secret(kind, secret.strip())
        return attrs

    @staticmethod
    def _checked_secret(kind: str, secret: str) -> str:
        # Messages never echo the value: it is a credential.
        if kind == NotificationChannel.Kind.PAGERDUTY:
            if not _PAGERDUTY_KEY.match(secret):
                raise serializers.ValidationError(
                    {"secret": "A PagerDuty routing key is 32 letters and digits."}  # nosec B105  # a field name or label, not a secret
                )
            return secret
        try:
            _HTTPS_URL(secret)
        except Exception:
            raise serializers.ValidationError({"secret": "Enter the https:// URL of the webhook."})  # nosec B105  # a field name or label, not a secret
        return secret


class AlertRuleSerializer(serializers.ModelSerializer):
    """An alert rule (input and output). Monitors and channels must belong to the same account."""

    monitor = serializers.PrimaryKeyRelatedField(
        queryset=Monitor.objects.none(),
        allow_null=True,
        required=False,
        help_text="The monitor it watches; null for every monitor of the account.",
        error_messages={"does_not_exist": "No monitor with id {pk_value} in this account."},
    )
    channels = serializers.PrimaryKeyRelatedField(
        queryset=NotificationChannel.objects.none(),
        many=True,
        required=False,
        help_text="Ids of the notification channels it alerts.",
    )
    threshold = serializers.IntegerField(
        default=1,
        help_text="Consecutive failures (down), milliseconds (slow) or days (ssl_expiry).",
        **_range(1, 100_000, "threshold"),
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "monitor",
            "condition",
            "threshold",
            "channels",
            "enabled",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        account_id = self.context.get("account_id")
        if account_id is not None:
            self.fields["monitor"].queryset = Monitor.objects.filter(account_id=account_id)
            channels = self.fields["channels"].child_relation
            channels.queryset = NotificationChannel.objects.filter(account_id=account_id)
            channels.error_messages["does_not_exist"] = (
                "No notification channel with id {pk_value} in this account."
            )


class DispatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertDispatch
        fields = ["id", "rule", "channel", "incident", "status", "detail", "sent_at"]


class DispatchQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertDispatch.Status.choices, required=False)
