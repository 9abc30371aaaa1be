"""Exposure review of one API key: its requests in a time window, and the incident-response steps
of the documentation (revoke, replace with the same scopes, review the window)."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, Max, Min, Q
from django.urls import reverse
from django.utils import timezone

from apikeys.models import Status
from audit.filters import TimeWindowForm
from statuspool import timefmt
from usage.models import RequestLog

INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows


class ExposureWindowForm(TimeWindowForm):
    def __init__(self, data, *, key):
        self.key = key
        super().__init__(data)
        since, until = self.default_window()
        # What the inputs show before the admin picks a window: minutes, widened outwards so
        # that submitting them unchanged never drops a request at either end.
        # In the viewer's zone, like every other time on the page (the labels name it).
        zone = timezone.get_current_timezone()
        self.display_since = since.astimezone(zone).strftime(INPUT_FORMAT)
        self.display_until = ""
        if until is not None:
            ceiling = until.astimezone(zone) + timedelta(minutes=1)
            self.display_until = ceiling.strftime(INPUT_FORMAT)

    def default_window(self):
        """Creation → revocation for a revoked key (its whole exposure), creation → now else."""
        if self.key.status == Status.REVOKED and self.key.revoked_at:
            # Inclusive of a request authenticated in the very microsecond of the revocation.
            return self.key.created_at, self.key.revoked_at + timedelta(microseconds=1)
        return self.key.created_at, None

    def clean(self):
        cleaned = super().clean()
        since, until = self.window() if not self.errors else (None, None)
        if since and until and since >= until:
            self.add_error("until", "The end of the window must be after its start.")
        return cleaned

    def window(self):
        default_since, default_until = self.default_window()
        return (
            self.cleaned_data.get("since") or default_since,
            self.cleaned_data.get("until") or default_until,
        )

    @property
    def is_default(self) -> bool:
        return not (self.data.get("since") or self.data.get("until"))


SUMMARY_CAP = 50_000


def exposure_summary(requests) -> dict:
    """Totals an incident reviewer looks at first: how many, from where, writes, errors.

    A busy key makes hundreds of thousands of requests a day, so the totals cover at most the
    newest SUMMARY_CAP requests of the window (``capped`` says so); the list itself pages
    through everything.
    """
    newest = requests.order_by("-occurred_at", "-id").values("id")[:SUMMARY_CAP]
    sample = RequestLog.objects.filter(id__in=newest).order_by()
    totals = sample.aggregate(
        count=Count("id"),
        first=Min("occurred_at"),
        last=Max("occurred_at"),
        writes=Count("id", filter=~Q(method__in=("GET", "HEAD", "OPTIONS"))),
        errors=Count("id", filter=Q(status__gte=400)),
    )
    totals["capped"] = totals["count"] >= SUMMARY_CAP
    totals["cap"] = SUMMARY_CAP
    totals["sources"] = list(
        sample.values("ip", "country")
        .annotate(count=Count("id"), first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by("-count", "ip")[:20]
    )
    return totals


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
        "Every request made with this key in the window is listed below; export them as CSV, "
        "and check the audit log for what was done with the key.",
        url=reverse("audit:log") + f"?key={key.public_id}",
        link_text="Audit log for this key",
    )
    return [revoke, replace, review]
