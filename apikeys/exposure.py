"""Exposure review of one API key: its requests in a time window, narrowed by the request search's
filters (``usage.search``), and the incident-response steps of the documentation (revoke, replace
with the same scopes, review the window)."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    Func,
    Max,
    Min,
    Q,
    Window,
)
from django.urls import reverse

from apikeys.models import Status
from statuspool import timefmt
from usage.search import RequestSearchForm, matching


class ExposureSearchForm(RequestSearchForm):
    """The request search (``usage.search``) of one key; with no window chosen, its exposure:
    creation → revocation for a revoked key, creation → now else."""

    def __init__(self, data, *, key, now=None):
        self.key = key
        super().__init__(data, default_window=exposure_window(key), now=now)


def exposure_window(key):
    if key.status == Status.REVOKED and key.revoked_at:
        # Inclusive of a request authenticated in the very microsecond of the revocation.
        return key.created_at, key.revoked_at + timedelta(microseconds=1)
    return key.created_at, None


SUMMARY_CAP = 50_000


def exposure_summary(window, cleaned_data: dict) -> dict:
    """Totals an incident reviewer looks at first: how many, from where, writes, errors, of the
    requests in ``window`` (the key's requests in the search's time window) that match the
    search's other filters (``cleaned_data``).

    A busy key makes hundreds of thousands of requests a day, so the totals cover at most the
    newest SUMMARY_CAP requests of the window (``capped`` says so), whatever the filters: the
    cost stays one bounded range of the (credential, time) index even when the filters match few
    rows. The list itself pages through everything.
    """
    newest = _newest(window, SUMMARY_CAP)
    sample = matching(newest, cleaned_data).order_by()
    writes = Count("id", filter=~Q(method__in=("GET", "HEAD", "OPTIONS")))
    errors = Count("id", filter=Q(status__gte=400))
    # One scan of the sample: its top sources, each row also carrying the totals of every source
    # (window aggregates are computed before the LIMIT). Three aggregates over a busy key's week
    # (totals, then sources) read the same rows twice: 80 ms of a 100 ms page on 10M rows.
    sources = list(
        sample.values("ip", "country")
        .annotate(
            count=Count("id"),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
            all_count=_over_all_sources("SUM", Count("id"), BigIntegerField()),
            all_first=_over_all_sources("MIN", Min("occurred_at"), DateTimeField()),
            all_last=_over_all_sources("MAX", Max("occurred_at"), DateTimeField()),
            all_writes=_over_all_sources("SUM", writes, BigIntegerField()),
            all_errors=_over_all_sources("SUM", errors, BigIntegerField()),
        )
        .order_by("-count", "ip")[:20]
    )
    top = sources[0] if sources else {}
    totals = {
        "count": int(top.get("all_count") or 0),
        "first": top.get("all_first"),
        "last": top.get("all_last"),
        "writes": int(top.get("all_writes") or 0),
        "errors": int(top.get("all_errors") or 0),
        "capped": newest is not window,
        "cap": SUMMARY_CAP,
        "sources": [
            {name: source[name] for name in ("ip", "country", "count", "first", "last")}
            for source in sources
        ],
    }
    return totals


class _OverAllSources(Func):
    """An aggregate of the per-source aggregates over every source (``SUM(COUNT(id)) OVER ()``).
    Not an ``Aggregate``: Django refuses an aggregate of an aggregate, SQL allows it in a window."""

    window_compatible = True


def _over_all_sources(function: str, aggregate, output_field):
    return Window(_OverAllSources(aggregate, function=function, output_field=output_field))


def _newest(requests, count: int):
    """The newest ``count`` requests, as a time range (from the count-th newest on) rather than
    ``id IN (…)``: the aggregates then read one range of the (credential, time) index instead of
    matching tens of thousands of ids across every partition (2 s → tens of ms on a busy key)."""
    oldest_kept = list(
        requests.order_by("-occurred_at", "-id").values_list("occurred_at", "id")[count - 1 : count]
    )
    if not oldest_kept:
        return requests  # fewer than ``count``: all of them
    stamp, row_id = oldest_kept[0]
    return requests.filter(occurred_at__gte=stamp).filter(
        Q(occurred_at__gt=stamp) | Q(id__gte=row_id)
    )


@dataclass
class Step:
    title: str
    text: str
    done: bool = False
    url: str | None = None
    link_text: str = ""


def incident_steps(key) -> list[Step]:
    revoked = key.status == Status.REVOKED
    if revoked:
        who = key.revoked_by.email if key.revoked_by else "the system"
        reason = f" Reason: {key.revoked_reason}." if key.revoked_reason else ""
        revoke = Step(
            "Revoke the key",
            f"Revoked {timefmt.exact(key.revoked_at)} by {who}.{reason}",
            done=True,
        )
    else:
        revoke = Step(
            "Revoke the key",
            "Revocation is immediate and final: every request with this key is refused from "
            "then on.",
            url=reverse("apikeys:revoke", args=[key.public_id]),
            link_text="Revoke this key…",
        )
    replacement = getattr(key, "rotated_to", None)
    scopes = ", ".join(key.scopes)
    if replacement is not None:
        replace = Step(
            "Deploy a replacement with the same scopes",
            f"Replaced by {replacement.display_id} ({scopes}). Deploy it to your systems.",
            done=True,
            url=reverse("apikeys:detail", args=[replacement.public_id]),
            link_text="Open the replacement",
        )
    elif not revoked:
        # Replace, not Create: it revokes this key in the same transaction and takes its place,
        # so it works when the account is at its key limit (a compromised key usually is).
        replace = Step(
            "Deploy a replacement with the same scopes",
            f"Replacing creates a new key with the same scopes ({scopes}), allowlist, alerts and "
            "expiry policy and revokes this one in the same step, even at the key limit.",
            url=reverse("apikeys:replace", args=[key.public_id]),
            link_text="Create a replacement key",
        )
    else:
        replace = Step(
            "Deploy a replacement with the same scopes",
            f"Create a key with the scopes {scopes}, then deploy it to your systems.",
            url=reverse("apikeys:create") + "?" + urlencode({"scopes": ",".join(key.scopes)}),
            link_text="Create a replacement key",
        )
    review = Step(
        "Review the exposure window",
        "Every request made with this key in the window is listed below; filter them, export "
        "them as CSV or JSON Lines, and check the audit log for what was done with the key.",
        url=reverse("audit:log") + f"?key={key.public_id}",
        link_text="Audit log for this key",
    )
    return [revoke, replace, review]
