"""Operators' admin for monitoring data. A channel's secret is never displayed, only whether it is set."""

from django.contrib import admin

from statuspool.monitoring.models import (
    AlertDispatch,
    AlertRule,
    Incident,
    Monitor,
    NotificationChannel,
    UptimeDay,
)


@admin.register(Monitor)
class MonitorAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "url", "method", "interval_seconds", "paused"]
    list_filter = ["paused", "method"]
    search_fields = ["name", "url", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]


@admin.register(UptimeDay)
class UptimeDayAdmin(admin.ModelAdmin):
    list_display = ["monitor", "day", "checks", "failures", "uptime", "avg_response_ms"]
    list_select_related = ["monitor"]
    date_hierarchy = "day"
    raw_id_fields = ["monitor"]

    @admin.display(description="Uptime %")
    def uptime(self, row):
        return f"{row.uptime_percent:.3f}"


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["monitor", "account", "status", "started_at", "resolved_at", "cause"]
    list_filter = ["status"]
    search_fields = ["cause", "monitor__name", "account__name"]
    list_select_related = ["monitor", "account"]
    raw_id_fields = ["account", "monitor"]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "kind", "address", "secret_state"]
    list_filter = ["kind"]
    search_fields = ["name", "account__name", "address"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    # The encrypted credential is write-only everywhere, here too: not shown, not editable.
    exclude = ["secret"]
    readonly_fields = ["secret_state"]

    @admin.display(description="Secret")
    def secret_state(self, channel):
        return "set" if channel.has_secret else "not set"


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "monitor", "condition", "threshold", "enabled"]
    list_filter = ["condition", "enabled"]
    search_fields = ["name", "account__name"]
    list_select_related = ["account", "monitor"]
    raw_id_fields = ["account", "monitor"]
    filter_horizontal = ["channels"]


@admin.register(AlertDispatch)
class AlertDispatchAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "account", "rule", "channel", "status", "detail"]
    list_filter = ["status"]
    list_select_related = ["account", "rule", "channel"]
    raw_id_fields = ["account", "rule", "channel", "incident"]
