"""Request search: the filters over one credential's request log, shared by every page that lists
its requests (an API key's "Requests made with this key", which is also its exposure review) and by
their CSV/JSONL exports, so a download has exactly the rows the page shows.

``RequestSearchForm`` reads a GET query (a shareable URL): a time window (a preset relative to now,
or From/To in the viewer's time zone), a status (a class or an exact code), the method, a path
prefix, the client address (an address or a CIDR network, v4 or v6) and the country.
``filtered(queryset, form.cleaned_data)`` narrows a queryset of request-log rows (``in_window``
then ``matching``, for callers that need the window alone);
``search_page`` pages through them by keyset with cursors signed for the credential.
"""

import ipaddress
import re
from datetime import timedelta

from django import forms
from django.core import signing
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from audit import keyset
from audit.filters import TimeWindowForm
from statuspool import countries

INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
PRESETS = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
_STATUS = re.compile(r"^(?:[1-5]xx|[1-5][0-9][0-9])$")
FILTER_FIELDS = ["window", "since", "until", "status", "method", "path", "ip", "country"]


class RequestSearchForm(TimeWindowForm):
    """The filters; ``default_window`` is the (since, until) used when none is chosen."""

    window = forms.ChoiceField(
        required=False,
        label="Time window",
        choices=[("", "From / To"), *((value, label) for value, (label, _) in PRESETS.items())],
    )
    status = forms.CharField(
        required=False,
        max_length=8,
        label="Status",
        help_text="2xx, 4xx (without 429), 429, 5xx, or a code such as 404",
    )
    method = forms.ChoiceField(
        required=False, choices=[("", "Any method"), *((m, m) for m in METHODS)]
    )
    path = forms.CharField(
        required=False, max_length=500, label="Path starts with", help_text="e.g. /v2/monitors"
    )
    ip = forms.CharField(
        required=False,
        max_length=64,
        label="Client address",
        help_text="An address or a network: 203.0.113.7, 203.0.113.0/24, 2001:db8::/32",
    )
    country = forms.CharField(
        required=False, max_length=60, label="Country", help_text="A code or a name: DE, Germany"
    )

    field_order = FILTER_FIELDS  # the window is cleaned first: a preset sets From / To aside

    def __init__(self, data=None, *, default_window=(None, None), now=None):
        super().__init__(data)
        self.default_since, self.default_until = default_window
        self.now = now or timezone.now()

    # --- cleaning ----------------------------------------------------------------------------
    def _preset(self) -> str:
        return self.cleaned_data.get("window") or ""

    def clean_since(self):
        return None if self._preset() else self._moment("since")

    def clean_until(self):
        return None if self._preset() else self._moment("until", end_of_day=True)

    def clean_status(self):
        value = self.cleaned_data["status"].strip().lower()
        if value and not _STATUS.match(value):
            raise forms.ValidationError(
                "Enter a status class (2xx, 4xx, 5xx) or a code from 100 to 599, such as 429."
            )
        return value

    def clean_path(self):
        value = self.cleaned_data["path"].strip()
        if value and (not value.startswith("/") or "?" in value):
            raise forms.ValidationError(
                "Enter the start of a path, beginning with /, without a query: /v2/monitors."
            )
        return value

    def clean_ip(self):
        value = self.cleaned_data["ip"].strip()
        if not value:
            return None
        try:
            # strict=False: 203.0.113.7/24 means its network, as people often paste it.
            return ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise forms.ValidationError(
                "Enter an address (203.0.113.7, 2001:db8::1) or a network in CIDR notation "
                "(203.0.113.0/24, 2001:db8::/32)."
            )

    def clean_country(self):
        value = self.cleaned_data["country"].strip()
        if not value:
            return ""
        code = countries.code_for(value)
        if code is None:
            raise forms.ValidationError(
                "Enter a two-letter country code (DE) or a country's English name (Germany)."
            )
        return code

    def clean(self):
        cleaned = super().clean()
        preset = self._preset()
        if preset:
            cleaned["since"], cleaned["until"] = self.now - PRESETS[preset][1], None
            return cleaned
        if "since" in cleaned and cleaned["since"] is None:
            cleaned["since"] = self.default_since
        if "until" in cleaned and cleaned["until"] is None:
            cleaned["until"] = self.default_until
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until and not self.has_error("until"):
            self.add_error("until", "The end of the window must be after its start.")
        return cleaned

    # --- what the page shows -----------------------------------------------------------------
    def bounds(self):
        """(since, until) in use; until None means now."""
        return self.cleaned_data.get("since"), self.cleaned_data.get("until")

    @property
    def preset_label(self) -> str:
        preset = self.cleaned_data.get("window") if self.is_bound and not self.errors else ""
        return PRESETS[preset][0] if preset else ""

    @property
    def is_default_window(self) -> bool:
        return not any(self.data.get(name) for name in ("window", "since", "until"))

    @property
    def has_filters(self) -> bool:
        return any(self.data.get(name) for name in ("status", "method", "path", "ip", "country"))

    def input_value(self, name: str) -> str:
        """What the From / To input shows: what was typed, else the window in use (a preset's,
        or the default one) widened to whole minutes, so submitting it unchanged drops nothing."""
        preset = self.data.get("window") in PRESETS
        typed = self.data.get(name)
        if typed and not preset:
            return typed
        if preset:
            since, until = self.now - PRESETS[self.data["window"]][1], None
        else:
            since, until = self.default_since, self.default_until
        zone = timezone.get_current_timezone()
        if name == "since":
            return since.astimezone(zone).strftime(INPUT_FORMAT) if since else ""
        if until is None:
            return ""
        return (until.astimezone(zone) + timedelta(minutes=1)).strftime(INPUT_FORMAT)

    @property
    def since_input(self) -> str:
        return self.input_value("since")

    @property
    def until_input(self) -> str:
        return self.input_value("until")

    def query(self) -> dict[str, str]:
        """The filters as typed, for links that keep them (pages, exports)."""
        return {name: self.data[name] for name in FILTER_FIELDS if self.data.get(name)}


def status_condition(status: str) -> Q:
    """A class (``4xx``) or an exact code. 429 is a class of its own, as on the usage charts:
    ``4xx`` is the other client errors."""
    if status.endswith("xx"):
        low = int(status[0]) * 100
        condition = Q(status__gte=low, status__lt=low + 100)
        return condition & ~Q(status=429) if low == 400 else condition
    return Q(status=int(status))


def in_window(queryset, cleaned_data: dict):
    """Only the time window of a valid ``RequestSearchForm``'s ``cleaned_data``."""
    since, until = cleaned_data.get("since"), cleaned_data.get("until")
    if since:
        queryset = queryset.filter(occurred_at__gte=since)
    if until:
        queryset = queryset.filter(occurred_at__lt=until)
    return queryset


def matching(queryset, cleaned_data: dict):
    """Every filter but the time window."""
    return queryset.filter(matching_condition(cleaned_data))


def matching_condition(cleaned_data: dict) -> Q:
    """``matching``'s filters as one condition (``Q()`` when there are none), for a query that
    needs it as a column rather than a WHERE."""
    condition = Q()
    if cleaned_data.get("status"):
        condition &= status_condition(cleaned_data["status"])
    if cleaned_data.get("method"):
        condition &= Q(method=cleaned_data["method"])
    if cleaned_data.get("path"):
        condition &= Q(path__startswith=cleaned_data["path"])
    if cleaned_data.get("ip"):
        # One rule for an address and a network (an address is a /32 or /128): the database
        # compares addresses, never their text ("::ffff:…", zeros, case).
        condition &= Q(ip__in_network=str(cleaned_data["ip"]))
    if cleaned_data.get("country"):
        condition &= Q(country=cleaned_data["country"])
    return condition


def filtered(queryset, cleaned_data: dict):
    """Narrow request-log rows by a valid ``RequestSearchForm``'s ``cleaned_data``."""
    return matching(in_window(queryset, cleaned_data), cleaned_data)


# --- pages ---------------------------------------------------------------------------------------
def _signer(scope: str) -> signing.Signer:
    return signing.Signer(salt=f"usage.search.cursor:{scope}")


def search_page(queryset, *, scope: str, before: str | None = None, after: str | None = None):
    """A keyset page (``audit.keyset``: (occurred_at, id), newest first) whose cursors are signed
    for ``scope``, the credential (``api_key:12``). A cursor edited by hand or taken from another
    credential's page is a 404, like a forged cursor on /v2, never a position in other rows."""
    signer = _signer(scope)

    def position(cursor):
        if not cursor:
            return None
        try:
            return signer.unsign_object(cursor)
        except (signing.BadSignature, ValueError, TypeError):
            raise Http404("This page link is not valid for these requests.")

    page = keyset.paginate(queryset, before=position(before), after=position(after))
    return keyset.Page(
        page.rows,
        signer.sign_object(page.older) if page.older else None,
        signer.sign_object(page.newer) if page.newer else None,
    )
