"""The one credential shape every /v2 view sees on ``request.auth``, whatever authenticated it."""

from dataclasses import dataclass, field


class CredentialKind:
    API_KEY = "api_key"
    OAUTH_TOKEN = "oauth_token"


@dataclass(frozen=True)
class Credential:
    kind: str  # CredentialKind.*
    id: int  # ApiKey.pk or AccessToken.pk
    account_id: int
    plan: str  # "team" | "enterprise"
    scopes: frozenset[str]
    # CIDR strings; empty means any address (IP allowlisting, Enterprise only).
    allowed_networks: tuple[str, ...] = ()
    # What rate limits count against: "key:<id>" or "oauth:<authorization id>".
    rate_limit_identity: str = ""
    label: str = ""  # human name for logs and the audit trail (key public id, app name)
    expires_at: str | None = None  # ISO 8601, when the credential stops working by itself
    usage_alerts_enabled: bool = False
    user_id: int | None = None  # the user an OAuth token acts for
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def account(self):
        """The Account row, loaded once per request when a view needs more than its id."""
        cached = self.extra.get("account")
        if cached is None:
            from statuspool.accounts.models import Account

            cached = self.extra["account"] = Account.objects.get(pk=self.account_id)
        return cached

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
