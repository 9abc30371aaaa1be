"""API keys' usage writer (``settings.USAGE_WRITERS``): last used, seen countries, Usage Alerts.

``usage.flush.usage_flush`` (the beat task ``usage.tasks.flush_usage``, every 30 seconds) hands it
the buffered records of API keys. Rows are locked while they are updated, so two overlapping
flushes (or a flush and a dashboard change) cannot lose each other's writes, and each alert email
has an outbox ``dedup_key``: retried or concurrent flushes cannot send one twice.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from apikeys.models import ApiKey
from statuspool import countries
from statuspool.notifications.services import email_enqueue
from usage.lastused import UsageRecord

BATCH_SIZE = 500
KEY_FIELDS = ["last_used_at", "last_used_ip", "last_used_country", "seen_countries"]


def _when(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _key_url(key: ApiKey) -> str:
    return settings.SITE_URL + reverse("apikeys:detail", args=[key.public_id])


def alert_recipients(key: ApiKey) -> list[str]:
    """The account owner and the key's creator (while still a member), each once."""
    creator = key.created_by
    if creator is not None and not key.account.memberships.filter(user=creator).exists():
        creator = None  # a former member no longer hears about the account's keys
    addresses = []
    for person in (key.account.owner, creator):
        if person is not None and person.is_active and person.email not in addresses:
            addresses.append(person.email)
    return addresses


def _alert(key: ApiKey, *, template: str, subject: str, dedup_key: str, **context) -> bool:
    recipients = alert_recipients(key)
    if not recipients:
        return False
    email_enqueue(
        to=recipients,
        subject=f"[StatusPool] API key “{key.name}” {subject}",
        template=template,
        context={
            "key_name": key.name,
            "key_display_id": key.display_id,
            "account_name": key.account.name,
            "key_url": _key_url(key),
            **context,
        },
        dedup_key=dedup_key,
    )
    return True


def _apply_to_key(key: ApiKey, record: UsageRecord) -> int:
    """Update one locked key from its record; returns the number of alerts queued."""
    was_used = key.last_used_at is not None
    at = _when(record.at)
    if key.last_used_at is None or at >= key.last_used_at:  # the later record wins a tie
        key.last_used_at = at
        key.last_used_ip = record.ip or None
        key.last_used_country = record.country
    seen = list(key.seen_countries or [])
    # In the order they were first seen: each one's email lists the ones before it, including
    # those first seen earlier in this same flush.
    new_countries = sorted(
        (c for c in record.countries if c and c not in seen),
        key=lambda c: (record.countries[c].at, c),
    )
    key.seen_countries = seen + new_countries
    if not key.usage_alerts_enabled:
        return 0
    alerts = 0
    if not was_used:
        alerts += _alert(
            key,
            template="usage_first_request",
            subject="made its first request",
            dedup_key=f"usage-first:{key.pk}",
            at=_when(record.first_at or record.at).isoformat(),
            ip=record.first_ip,
            country=record.first_country,
            country_label=countries.label(record.first_country),
        )
    for position, country in enumerate(new_countries):
        if not was_used and country == record.first_country:
            continue  # the first-request email already names it
        before = seen + new_countries[:position]
        first = record.countries[country]
        alerts += _alert(
            key,
            template="usage_new_country",
            subject=f"was used from a new country: {countries.label(country)}",
            dedup_key=f"usage-country:{key.pk}:{country}",
            country=country,
            country_label=countries.label(country),
            known_countries=", ".join(countries.label(c) for c in before) or "none yet",
            at=_when(first.at).isoformat(),
            ip=first.ip,
        )
    if record.rate_window:
        alerts += _alert(
            key,
            template="usage_rate_limit",
            subject=f"passed 80% of its {record.rate_resource} rate limit",
            dedup_key=f"usage-rate:{key.pk}:{record.rate_window}",
            limit=record.rate_limit,
            resource=record.rate_resource,
            plan=key.account.get_plan_display(),
            window_ends=_when(record.rate_window).isoformat(),
        )
    return alerts


class ApiKeyUsageWriter:
    prefix = "key"
    result_name = "keys"

    def member_id(self, credential) -> int | None:
        return credential.id

    def wants_rate_alerts(self, credential) -> bool:
        return credential.usage_alerts_enabled

    def write(self, records: dict[int, UsageRecord]) -> int:
        return _flush_keys(records)


def _flush_keys(records: dict[int, UsageRecord]) -> int:
    alerts = 0
    ids = sorted(records)
    for start in range(0, len(ids), BATCH_SIZE):
        with transaction.atomic():
            keys = list(
                ApiKey.objects.select_for_update(of=("self",))
                .select_related("account", "created_by")
                .filter(pk__in=ids[start : start + BATCH_SIZE])
                .order_by("pk")
            )
            for key in keys:
                alerts += _apply_to_key(key, records[key.pk])
            ApiKey.objects.bulk_update(keys, KEY_FIELDS)
    return alerts
