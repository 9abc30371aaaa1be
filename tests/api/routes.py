"""The /v2 scope matrix as data: every route, the scope it needs, a valid body, the success status.

Path templates name seeded objects (``tests.api.fixtures.Seeded.ids``): {monitor}, {incident},
{channel}, {rule}, {member}, {key}. ``test_resolver`` checks that this table covers every
authenticated /v2 route and method the URL resolver knows, so a new endpoint cannot skip the matrix.
"""

from collections.abc import Callable
from dataclasses import dataclass

ANY = None  # any valid credential


def _monitor_body(ids):
    return {
        "name": "Checkout",
        "url": "https://shop.example.com/health",
        "method": "HEAD",
        "interval_seconds": 120,
        "timeout_seconds": 15,
        "expected_status": 204,
        "paused": False,
    }


def _rule_body(ids):
    return {
        "name": "Checkout slow",
        "monitor": ids["monitor"],
        "condition": "slow",
        "threshold": 800,
        "channels": [str(ids["channel"])],
        "enabled": True,
    }


def _channel_body(ids):
    return {"name": "Ops Slack", "kind": "slack", "secret": "https://hooks.slack.example/T0/B0/x"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scope: str | None
    body: Callable[[dict], dict] | None = None
    ok: int = 200
    # Owner-only on /v2 as in the dashboard: the matrix's OAuth tokens act for an admin, who gets
    # 403 (API keys act for the account and are allowed).
    owner_only: bool = False

    @property
    def is_object_route(self) -> bool:
        return "{" in self.path

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    def url(self, ids: dict) -> str:
        return self.path.format(**ids)

    def __str__(self):
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/v2/credential", ANY),
    # monitors:read / monitors:write
    Route("GET", "/v2/monitors", "monitors:read"),
    Route("POST", "/v2/monitors", "monitors:write", _monitor_body, 201),
    Route("GET", "/v2/monitors/{monitor}", "monitors:read"),
    Route("PUT", "/v2/monitors/{monitor}", "monitors:write", _monitor_body),
    Route("PATCH", "/v2/monitors/{monitor}", "monitors:write", lambda ids: {"paused": True}),
    Route("DELETE", "/v2/monitors/{monitor}", "monitors:write", ok=204),
    Route("GET", "/v2/monitors/{monitor}/uptime", "monitors:read"),
    Route("GET", "/v2/monitors/{monitor}/incidents", "monitors:read"),
    Route("GET", "/v2/incidents", "monitors:read"),
    Route("GET", "/v2/incidents/{incident}", "monitors:read"),
    # alerts:read / alerts:write
    Route("GET", "/v2/alert-rules", "alerts:read"),
    Route("POST", "/v2/alert-rules", "alerts:write", _rule_body, 201),
    Route("GET", "/v2/alert-rules/{rule}", "alerts:read"),
    Route("PUT", "/v2/alert-rules/{rule}", "alerts:write", _rule_body),
    Route("PATCH", "/v2/alert-rules/{rule}", "alerts:write", lambda ids: {"enabled": False}),
    Route("DELETE", "/v2/alert-rules/{rule}", "alerts:write", ok=204),
    Route("GET", "/v2/notification-channels", "alerts:read"),
    Route("POST", "/v2/notification-channels", "alerts:write", _channel_body, 201),
    Route("GET", "/v2/notification-channels/{channel}", "alerts:read"),
    Route("PUT", "/v2/notification-channels/{channel}", "alerts:write", _channel_body),
    Route(
        "PATCH",
        "/v2/notification-channels/{channel}",
        "alerts:write",
        lambda ids: {"name": "Renamed"},
    ),
    Route("DELETE", "/v2/notification-channels/{channel}", "alerts:write", ok=204),
    Route("GET", "/v2/dispatches", "alerts:read"),
    # teams:admin
    Route("GET", "/v2/team/members", "teams:admin"),
    Route("GET", "/v2/team/members/{member}", "teams:admin"),
    Route("PATCH", "/v2/team/members/{other_member}", "teams:admin", lambda ids: {"role": "admin"}),
    Route("DELETE", "/v2/team/members/{other_member}", "teams:admin", ok=204),
    Route("GET", "/v2/team/invitations", "teams:admin"),
    Route(
        "POST",
        "/v2/team/invitations",
        "teams:admin",
        lambda ids: {"email": "newcomer@example.test", "role": "member"},
        201,
    ),
    Route("DELETE", "/v2/team/invitations/{invitation}", "teams:admin", ok=204),
    Route("GET", "/v2/billing", "teams:admin"),
    Route(
        "PATCH",
        "/v2/billing",
        "teams:admin",
        lambda ids: {"billing_email": "invoices@example.test"},
        owner_only=True,
    ),
    Route("GET", "/v2/audit-log", "teams:admin"),
    Route("GET", "/v2/api-keys", "teams:admin"),
    Route("GET", "/v2/api-keys/{key}", "teams:admin"),
    Route("GET", "/v2/api-keys/{key}/usage", "teams:admin"),
    Route("GET", "/v2/usage", "teams:admin"),
    Route(
        "POST", "/v2/api-keys/{key}/revoke", "teams:admin", lambda ids: {"reason": "compromised"}
    ),
]

OBJECT_ROUTES = [route for route in ROUTES if route.is_object_route]
