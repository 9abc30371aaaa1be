"""Security notifications: tell an account's admins (and the person concerned) what just happened.

One call per event, inside the transaction of the change (next to its audit event)::

    security_notify(account=key.account, kind="apikey.revoked", actor=actor,
                    subject_user=key.created_by, context={...})

Each recipient gets their own outbox row (their own time zone, nobody sees the other admins'
addresses); rows are written in the caller's transaction and sent after it commits, so a change
that rolls back sends nothing. Admins may opt out of any kind (Settings → Security), except for
events about their own credentials: ``subject_user`` is always told.

This module reads accounts only through the ``account.memberships`` relation and actors
duck-typed (``audit.services.Actor`` or a user), so the apps that raise notifications may import
it without an import cycle.
"""

import logging
import zoneinfo
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from statuspool import geoip
from statuspool.notifications.models import OutboxEmail, SecurityNotificationOptOut
from statuspool.notifications.security_kinds import KINDS, Kind
from statuspool.notifications.services import email_enqueue

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[StatusPool] "
TEMPLATE = "security_notice"
_ADMIN_ROLES = ("owner", "admin")
# Links the catalog's advice may use without every caller passing them.
_DEFAULT_LINKS = {
    "apps_url": "oauthapps:application_list",
    "team_url": "accounts:team",
    "connected_url": "oauthapps:connected_list",
    "key_url": "apikeys:list",
}

__all__ = ["KINDS", "Kind", "optouts_for", "security_notify", "security_optouts_set"]


def _absolute(url_name: str) -> str:
    try:
        return settings.SITE_URL + reverse(url_name)
    except NoReverseMatch:  # a project without that screen: point at the dashboard instead
        return settings.SITE_URL + "/"


def describe_actor(actor=None, request=None) -> tuple[str, str | None]:
    """(who, ip) for an audit Actor, a user, a request's user, or nobody (an automatic job)."""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        from statuspool.client_ip import client_ip

        ip = client_ip(request)
        if user is not None and user.is_authenticated:
            return user.email, ip
        return "Someone who was not signed in", ip
    if actor is None:
        return "StatusPool (automatic)", None
    if hasattr(actor, "kind"):  # audit.services.Actor
        user = actor.user
        who = actor.email or (user.email if user is not None else "") or actor.label
        if actor.kind == "system":
            who = "StatusPool (automatic)"
        elif actor.kind == "api_key":
            who = f"API key {actor.label}".strip()
        elif actor.kind == "oauth_app":
            who = f"OAuth application {actor.label}".strip()
        return who or "Unknown", actor.ip
    return getattr(actor, "email", str(actor)), None


def _zone(user) -> zoneinfo.ZoneInfo | None:
    name = getattr(user, "time_zone", "") or ""
    if not name or name == "UTC":
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def format_when(moment: datetime, user) -> str:
    """ "2026-12-01 15:04 UTC (16:04 CET, Europe/Paris)" — UTC first, then the reader's zone."""
    utc = moment.astimezone(zoneinfo.ZoneInfo("UTC"))
    text = f"{utc:%Y-%m-%d %H:%M} UTC"
    zone = _zone(user)
    if zone is not None:
        local = moment.astimezone(zone)
        day = "" if local.date() == utc.date() else f"{local:%Y-%m-%d} "
        text += f" ({day}{local:%H:%M} {local.tzname()}, {zone.key})"
    return text


def _where(ip: str | None) -> str:
    if not ip:
        return "no network address (an automatic job or an operator command)"
    country = geoip.country_of(ip)
    return f"{ip} ({country})" if country else ip


def _recipients(account, subject_user, kind: str) -> list[tuple[object, bool]]:
    """[(user, is_subject)]: active admins who did not opt out, and the person concerned."""
    admins = [
        membership.user
        for membership in account.memberships.filter(role__in=_ADMIN_ROLES)
        .select_related("user")
        .order_by("user_id")
        if membership.user.is_active
    ]
    opted_out = set()
    if KINDS[kind].optional:
        opted_out = set(
            SecurityNotificationOptOut.objects.filter(
                kind=kind, user_id__in=[user.pk for user in admins]
            ).values_list("user_id", flat=True)
        )
    subject_id = getattr(subject_user, "pk", None)
    chosen = [(user, user.pk == subject_id) for user in admins if user.pk not in opted_out]
    if subject_user is not None and subject_user.is_active:
        if not any(user.pk == subject_id for user, _ in chosen):
            chosen.append((subject_user, True))
    return chosen


def _texts(kind: Kind, values: dict) -> tuple[str, str, str]:
    # A missing value is a bug in the caller: fail inside its transaction, where tests see it.
    return (
        SUBJECT_PREFIX + kind.subject.format(**values),
        kind.summary.format(**values).strip(),
        kind.advice.format(**values),
    )


def security_notify(
    *, account, kind: str, actor=None, subject_user=None, context=None, request=None
) -> list[OutboxEmail]:
    """Queue the ``kind`` email to the account's admins and ``subject_user``; see the module doc."""
    if kind not in KINDS:
        raise ValueError(f"unknown security notification kind {kind!r}; add it to KINDS")
    who, ip = describe_actor(actor, request)
    values = {name: _absolute(url) for name, url in _DEFAULT_LINKS.items()}
    values.update({"actor": who, "account_name": account.name})
    values.update({name: str(value) for name, value in (context or {}).items()})
    subject, summary, advice = _texts(KINDS[kind], values)
    now = timezone.now()
    emails = []
    with transaction.atomic():  # joins the caller's transaction; its own only when there is none
        for user, is_subject in _recipients(account, subject_user, kind):
            emails.append(
                email_enqueue(
                    to=[user.email],
                    subject=subject,
                    template=TEMPLATE,
                    context={
                        "summary": summary,
                        "advice": advice,
                        "who": who,
                        "when": format_when(now, user),
                        "where": _where(ip),
                        "account_name": account.name,
                        "about_you": is_subject,
                        "kind_label": KINDS[kind].label,
                        "optional": KINDS[kind].optional,
                        "settings_url": _absolute("accounts:security_notifications"),
                    },
                )
            )
    logger.info(
        "security notification %s for account %s: %d email(s)", kind, account.pk, len(emails)
    )
    return emails


def optouts_for(user) -> set[str]:
    return set(SecurityNotificationOptOut.objects.filter(user=user).values_list("kind", flat=True))


def security_optouts_set(*, user, wanted: set[str]) -> tuple[set[str], set[str]]:
    """Keep emailing ``user`` the kinds in ``wanted`` and opt them out of the rest.

    Returns (turned_on, turned_off) kinds. Unknown kinds are ignored.
    """
    wanted = (set(wanted) & set(KINDS)) | {k for k, entry in KINDS.items() if not entry.optional}
    with transaction.atomic():
        current = optouts_for(user)
        off = set(KINDS) - wanted
        turned_off, turned_on = off - current, current - off
        SecurityNotificationOptOut.objects.filter(user=user, kind__in=turned_on).delete()
        SecurityNotificationOptOut.objects.bulk_create(
            [SecurityNotificationOptOut(user=user, kind=kind) for kind in sorted(turned_off)],
            ignore_conflicts=True,
        )
    return turned_on, turned_off
