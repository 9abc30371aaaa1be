"""The one way a moment is written for people: in the reader's time zone, naming the zone.

Dashboard pages and emails both go through here (the dashboard through the ``{% when %}`` tag), so
there is one format: ``2026-12-01 14:06 CET``; lists may say "3 hours ago" instead, with the exact
value on hover; the exact UTC value is always one hover away. The zone is the one Django has active:
the signed-in user's setting (``UserTimeZoneMiddleware``), or the recipient's for an email.
"""

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timesince import timesince, timeuntil

FORMAT = "%Y-%m-%d %H:%M"
UTC_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
# Under a minute either way reads "just now" rather than "0 minutes ago".
_JUST_NOW_SECONDS = 60


def zone_names() -> list[str]:
    """Every IANA zone a user may choose, sorted (``UTC`` first)."""
    names = sorted(
        name for name in available_timezones() if "/" in name and not name.startswith("Etc/")
    )
    return ["UTC", *names]


def zone_or_utc(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def is_zone(name: str) -> bool:
    return name == "UTC" or name in available_timezones()


def as_moment(value) -> datetime | None:
    """A datetime from what templates and stored email contexts hold: datetimes, dates, ISO text."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            return None
        value = parsed
    elif not isinstance(value, datetime) and isinstance(value, date):
        value = datetime.combine(value, time.min)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation at that moment; numeric ones (``+04``) read as ``UTC+04``."""
    name = moment.tzname() or "UTC"
    return f"UTC{name}" if name[:1] in "+-" else name


def exact(value, zone: tzinfo | None = None) -> str:
    moment = as_moment(value)
    if moment is None:
        return ""
    local = moment.astimezone(zone or timezone.get_current_timezone())
    return f"{local.strftime(FORMAT)} {zone_label(local)}"


def exact_utc(value) -> str:
    moment = as_moment(value)
    return moment.astimezone(UTC).strftime(UTC_FORMAT) if moment else ""


def iso_utc(value) -> str:
    moment = as_moment(value)
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def relative(value, now: datetime | None = None) -> str:
    moment = as_moment(value)
    if moment is None:
        return ""
    now = now or timezone.now()
    seconds = (now - moment).total_seconds()
    if abs(seconds) < _JUST_NOW_SECONDS:
        return "just now"
    if seconds > 0:
        return f"{timesince(moment, now, depth=1)} ago"
    return f"in {timeuntil(moment, now, depth=1)}"


def zone_name(zone: tzinfo | None = None) -> str:
    """The IANA name of the active (or given) zone, for labels such as "From (Europe/Berlin)"."""
    zone = zone or timezone.get_current_timezone()
    return getattr(zone, "key", None) or str(zone)
