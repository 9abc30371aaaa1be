"""The one credential shape every /v2 view sees on ``request.auth``, whatever authenticated it.

Ids and plain values only (no model instances): it is cached between requests (API keys) and
crosses every layer; a view that needs the Account row asks ``ApiView.account``."""

from dataclasses import dataclass


class CredentialKind:
    API_KEY = "api_key"
    OAUTH_TOKEN = "oauth_token"  # nosec B105  # a field name or label, not a secret


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
    authorization_id: int | None = None  # the OAuth grant a token belongs to
    # The account's name as of the authentication (GET /v2/credential shows it without a query);
    # "" when the authenticator did not cache it, and views ask ``ApiView.account``.
    account_name: str = ""

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
