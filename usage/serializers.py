"""JSON of the usage endpoints (/v2/api-keys/{id}/usage, /v2/usage), from ``usage.insight``."""

from datetime import UTC

from rest_framework import serializers

from usage.insight import WINDOWS


class UsageQuerySerializer(serializers.Serializer):
    window = serializers.ChoiceField(
        choices=list(WINDOWS),
        default="24h",
        help_text="24h: hourly buckets; 7d, 30d, 90d: daily buckets (UTC).",
        error_messages={
            "invalid_choice": f'Unknown window "{{input}}": use one of {", ".join(WINDOWS)}.'
        },
    )


def _utc():
    return serializers.DateTimeField(default_timezone=UTC)


class WindowFields(serializers.Serializer):
    """The window the numbers cover (shared by both endpoints)."""

    window = serializers.CharField(source="window.name", help_text="24h, 7d, 30d or 90d.")
    bucket = serializers.CharField(source="window.bucket", help_text="hour or day.")
    label = serializers.CharField(source="window.label", help_text='e.g. "Last 24 hours".')


class UsageBucketSerializer(serializers.Serializer):
    start = _utc()
    total = serializers.IntegerField()
    ok = serializers.IntegerField(help_text="1xx–3xx.")
    client_errors = serializers.IntegerField(help_text="4xx except 429.")
    rate_limited = serializers.IntegerField(help_text="429.")
    server_errors = serializers.IntegerField(help_text="5xx.")
    p95_ms = serializers.IntegerField(
        allow_null=True, help_text="Upper bound of the latency bucket holding the 95th percentile."
    )


class UsageEndpointSerializer(serializers.Serializer):
    method = serializers.CharField()
    path = serializers.CharField()
    requests = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="4xx (429 included) and 5xx.")


class UsageClientSerializer(serializers.Serializer):
    ip = serializers.CharField()
    country = serializers.CharField(help_text='ISO 3166-1 alpha-2, "" when unknown.')
    country_name = serializers.CharField()
    requests = serializers.IntegerField()


class CredentialUsageSerializer(WindowFields):
    buckets = UsageBucketSerializer(
        many=True, help_text="Every bucket of the window, oldest first."
    )
    total = serializers.IntegerField()
    ok = serializers.IntegerField()
    client_errors = serializers.IntegerField()
    rate_limited = serializers.IntegerField()
    server_errors = serializers.IntegerField()
    reads = serializers.IntegerField(help_text="GET, HEAD and OPTIONS.")
    writes = serializers.IntegerField()
    error_rate = serializers.FloatField(help_text="(4xx + 5xx) / total; 0 without requests.")
    p50_ms = serializers.IntegerField(allow_null=True)
    p95_ms = serializers.IntegerField(allow_null=True)
    top_endpoints = UsageEndpointSerializer(many=True, help_text="Up to 10, busiest first.")
    top_clients = UsageClientSerializer(many=True, help_text="Up to 10 addresses, busiest first.")
    distinct_clients = serializers.IntegerField()
    countries = serializers.ListField(child=serializers.CharField())


class UsageCredentialSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="api_key or oauth_authorization.")
    id = serializers.IntegerField(help_text="The API key's or the OAuth authorization's id.")
    label = serializers.CharField(help_text="Its name when last used (kept after deletion).")
    total = serializers.IntegerField()
    error_rate = serializers.FloatField()
    rate_limited = serializers.IntegerField()
    server_errors = serializers.IntegerField()
    p95_ms = serializers.IntegerField(allow_null=True)


class UsageMinutePeakSerializer(serializers.Serializer):
    start = _utc()
    read_peak = serializers.IntegerField()
    write_peak = serializers.IntegerField()


class AccountUsageSerializer(WindowFields):
    total = serializers.IntegerField()
    error_rate = serializers.FloatField()
    rate_limited = serializers.IntegerField()
    credentials = UsageCredentialSerializer(
        source="rows", many=True, help_text="Every credential with requests, busiest first."
    )
    peaks = UsageMinutePeakSerializer(
        many=True,
        help_text=(
            "Per bucket, the most requests one credential made in one minute (reads and writes "
            "separately, as plan rate limits count them)."
        ),
    )
