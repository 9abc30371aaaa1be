"""The Audit Log's filters, shared by the page, its CSV export and GET /v2/audit-log.

``action``, ``actor`` (email), ``key`` (an API key's public id: events whose target is that key or
that the key itself performed) and a date range (``since`` inclusive, ``until`` exclusive; a bare
date means the whole day in the active zone, so ``until=2026-03-01`` includes March 1st).
"""

import re
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.module_loading import import_string

from audit.actions import ACTIONS
from statuspool import api_key_format, timefmt

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


def parse_moment(value: str, *, end_of_day: bool = False, zone=None) -> datetime | None:
    """An ISO 8601 date-time or a date (its start, or the next day's start), returned in UTC.

    Without an offset, the value is in ``zone``: by default the active one, which is the signed-in
    user's on the dashboard and UTC for /v2 and management commands.
    """
    zone = zone or timezone.get_current_timezone()
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
            moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
        else:
            moment = datetime.combine(day, time.min, tzinfo=zone)
            if end_of_day:
                moment += timedelta(days=1)
        moment = moment.astimezone(UTC)
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

    since = forms.CharField(required=False, max_length=40)
    until = forms.CharField(required=False, max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The zone the values are read in is the one the page shows times in: say which.
        zone = timefmt.zone_name()
        self.fields["since"].label = f"From ({zone})"
        self.fields["until"].label = f"To ({zone})"

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
    actor = forms.CharField(
        required=False,
        max_length=254,
        label="Actor email",
        help_text="All or part of an address, e.g. alice or @acme.test",
    )
    key = forms.CharField(
        required=False, max_length=80, label="API key", help_text="Public id, e.g. 4f8a2c91"
    )
    # "What happened to this application": one click from its page, so an id, not a name field.
    app = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

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
    queryset, *, account_id: int, action="", actor="", key="", app=None, since=None, until=None
):
    """Narrow an account's events; ``key`` is a public id (already validated)."""
    queryset = queryset.filter(account_id=account_id)
    if action:
        queryset = queryset.filter(action=action)
    if actor:
        # Part of an address is enough: "alice", "@acme.test" (people rarely remember them whole).
        queryset = queryset.filter(actor_email__icontains=actor)
    if key:
        queryset = queryset.filter(_key_condition(account_id, key))
    if app:
        queryset = queryset.filter(_application_condition(account_id, app))
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


def _application_condition(account_id: int, application_id: int) -> Q:
    """The application's own events and those of its grants (which carry its client_id)."""
    own = Q(target_type="application", target_id=str(application_id))
    client_id = import_string(settings.AUDIT_APPLICATION_LOOKUP)(
        account_id=account_id, application_id=application_id
    )
    return own | Q(details__client_id=client_id) if client_id else own
