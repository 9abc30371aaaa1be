"""The Audit Log's filters, shared by the page, its CSV export and GET /v2/audit-log.

``action``, ``actor`` (email), ``key`` (an API key's public id: events whose target is that key or
that the key itself performed) and a date range (``since`` inclusive, ``until`` exclusive; a bare
date means the whole UTC day, so ``until=2026-03-01`` includes March 1st).
"""

import re
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.module_loading import import_string

from audit.actions import ACTIONS
from statuspool import api_key_format

_PUBLIC_ID = re.compile(rf"^[0-9A-Za-z]{{{api_key_format.PUBLIC_ID_LENGTH}}}$")


def parse_public_id(value: str) -> str | None:
    """Accept what people paste: ``4f8a2c91``, ``sp_live_4f8a2c91…`` or a whole key."""
    value = (value or "").strip().rstrip("…").rstrip(".")
    if value.startswith(api_key_format.PREFIX):
        value = value[len(api_key_format.PREFIX) :][: api_key_format.PUBLIC_ID_LENGTH]
    return value if _PUBLIC_ID.match(value) else None


# Far enough inside datetime's range that shifting into any time zone (the screens show times in
# the user's zone) or adding a day cannot overflow: ``until=9999-12-31`` is an error, not a 500.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def parse_moment(value: str, *, end_of_day: bool = False) -> datetime | None:
    """An ISO 8601 date-time (naive = UTC) or a date (its start, or the next day's start)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        # parse_datetime() would also take a bare date, as midnight: dates are tried first.
        day = parse_date(value)
        moment = None if day else parse_datetime(value)
    except ValueError:
        day = moment = None
    if moment is None and day is None:
        raise ValueError(f"“{value}” is not a date (YYYY-MM-DD) or an ISO 8601 date-time.")
    try:
        if moment is not None:
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            if end_of_day:
                moment += timedelta(days=1)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise ValueError(
            f"“{value}” is out of range: use a date between {EARLIEST:%Y-%m-%d} and "
            f"{LATEST - timedelta(days=1):%Y-%m-%d}."
        )
    return moment


class TimeWindowForm(forms.Form):
    """``since`` / ``until`` inputs: ISO date-times, or dates (``until`` runs to the day's end)."""

    since = forms.CharField(required=False, max_length=40, label="From (UTC)")
    until = forms.CharField(required=False, max_length=40, label="To (UTC)")

    def _moment(self, name, *, end_of_day=False):
        try:
            return parse_moment(self.cleaned_data[name], end_of_day=end_of_day)
        except ValueError as error:
            raise forms.ValidationError(str(error))

    def clean_since(self):
        return self._moment("since")

    def clean_until(self):
        return self._moment("until", end_of_day=True)


class AuditFilterForm(TimeWindowForm):
    action = forms.CharField(required=False, max_length=64)
    actor = forms.CharField(required=False, max_length=254, label="Actor email")
    key = forms.CharField(
        required=False, max_length=80, label="API key", help_text="Public id, e.g. 4f8a2c91"
    )

    def action_choices(self):
        return [("", "All actions"), *ACTIONS.items()]

    def clean_actor(self):
        return self.cleaned_data["actor"].strip().lower()

    def clean_key(self):
        raw = self.cleaned_data["key"].strip()
        if not raw:
            return ""
        public_id = parse_public_id(raw)
        if public_id is None:
            raise forms.ValidationError(
                "Enter the key's public id: the 8 characters after sp_live_ (e.g. 4f8a2c91)."
            )
        return public_id

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "The end of the range must be after its start.")
        return cleaned

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


def apply_filters(
    queryset, *, account_id: int, action="", actor="", key="", since=None, until=None
):
    """Narrow an account's events; ``key`` is a public id (already validated)."""
    queryset = queryset.filter(account_id=account_id)
    if action:
        queryset = queryset.filter(action=action)
    if actor:
        queryset = queryset.filter(actor_email=actor)
    if key:
        queryset = queryset.filter(_key_condition(account_id, key))
    if since:
        queryset = queryset.filter(occurred_at__gte=since)
    if until:
        queryset = queryset.filter(occurred_at__lt=until)
    return queryset


def _key_condition(account_id: int, public_id: str) -> Q:
    performed_by_key = Q(
        actor_kind="api_key", actor_label__in=[public_id, api_key_format.display(public_id)]
    )
    # The key's row id, from the app that owns keys (registered in settings: audit is below it).
    key_pk = import_string(settings.AUDIT_API_KEY_LOOKUP)(
        account_id=account_id, public_id=public_id
    )
    if key_pk is None:
        return performed_by_key
    return Q(target_type="apikey", target_id=str(key_pk)) | performed_by_key
