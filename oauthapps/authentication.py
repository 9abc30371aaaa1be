"""/v2 authentication for OAuth access tokens (``sp_oat_…``): the same ``Credential`` as an API key.

Order, as for API keys (apikeys.authentication):
1. shape and checksum (no cache, no database): a typo or a guessed string stops here;
2. the shared cache, keyed by the token's SHA-256 (``oauthapps.authcache``, which lists every
   change that invalidates an entry: revocation, rotation, role change, membership removal, plan
   change, deactivation, application deletion …);
3. on a miss, one lean query (``oauthapps.token_lookup``): the token joined with its grant,
   account, application name and the user's *current* membership role, plain values only.
The scopes are the token's, cut down to what the user's role allows now. The clock, not the
cache, decides expiry: a cached token past its ``expires`` is refused.

A DPoP-bound token (RFC 9449, ``AccessToken.jkt``) is accepted only as ``Authorization: DPoP …``
with a ``DPoP`` proof signed by the bound key for this method and URL whose ``ath`` is the
token's hash; presented as Bearer, without a proof or with another key it is refused with
``WWW-Authenticate: DPoP error="invalid_dpop_proof"``. The proof is checked on every request,
cached or not, and queries nothing (the thumbprint is in the entry, the jti goes to the shared
cache).
"""

from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from oauthapps import authcache, dpop, token_format
from oauthapps.scopes import scopes_for_role
from oauthapps.token_lookup import live_access_token
from statuspool.api import early_lookup, throttling
from statuspool.api.credentials import Credential, CredentialKind
from statuspool.api.errors import InvalidToken
from statuspool.credcache.prefetch import CacheLookup
from statuspool.credcache.prepared import Prepared
from statuspool.scopes import order_scopes


class InvalidDPoPProof(InvalidToken):
    def __init__(self, message: str):
        super().__init__(message, code="invalid_dpop_proof")
        self.extra_headers = {
            "WWW-Authenticate": (
                f'DPoP algs="{" ".join(dpop.ALGORITHMS)}", error="invalid_dpop_proof", '
                f'error_description="{message.replace(chr(34), chr(39))}"'
            )
        }


def _check_dpop(jkt: str, raw: str, request) -> None:
    scheme = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[0].lower()
    if not jkt:
        if scheme == "dpop":
            raise InvalidToken("This access token is not DPoP-bound: use the Bearer scheme.")
        return
    if scheme != "dpop":
        raise InvalidDPoPProof("This token is DPoP-bound: send it as 'Authorization: DPoP'.")
    try:
        proof = dpop.verify_proof(
            request.META.get("HTTP_DPOP"),
            method=request.method,
            url=request.build_absolute_uri(request.path),
            access_token=raw,
        )
    except dpop.DPoPError as exc:
        raise InvalidDPoPProof(str(exc)) from exc
    if proof.jkt != jkt:
        raise InvalidDPoPProof("The DPoP proof is signed with another key than the token's.")


def _entry(row: dict) -> dict:
    """What the cache keeps: JSON-serialisable plain values, what a ``Credential`` needs."""
    allowed = set(row["scope"].split()) & scopes_for_role(row["role"])
    return {
        "id": row["id"],
        "account_id": row["authorization__account_id"],
        "plan": row["authorization__account__plan"],
        # GET /v2/credential shows it with no query; a rename invalidates (oauthapps.signals).
        "account_name": row["authorization__account__name"],
        "scopes": order_scopes(allowed),
        "application_id": row["application_id"],
        "label": row["application__name"],
        "expires_at": row["expires"].isoformat(),
        "user_id": row["user_id"],
        "authorization_id": row["authorization_id"],
        "jkt": row["jkt"],
    }


def _credential(entry: dict) -> Credential:
    return Credential(
        kind=CredentialKind.OAUTH_TOKEN,
        id=entry["id"],
        account_id=entry["account_id"],
        plan=entry["plan"],
        scopes=frozenset(entry["scopes"]),
        # SPEC: OAuth tokens are limited per authorization of an application in an account, so
        # two people approving the same app for one team share one bucket.
        rate_limit_identity=_rate_limit_identity(entry),
        label=entry["label"],
        expires_at=entry["expires_at"],
        user_id=entry["user_id"],
        authorization_id=entry["authorization_id"],
        account_name=entry.get("account_name", ""),
    )


class _Prepared(NamedTuple):
    """A believed entry, ready for every request that presents its token."""

    credential: Credential
    expires_at: datetime
    jkt: str  # the DPoP key thumbprint a bound token's proofs must be signed with ("" if none)


def _prepare(entry: dict) -> _Prepared:
    return _Prepared(
        _credential(entry), datetime.fromisoformat(entry["expires_at"]), entry["jkt"] or ""
    )


# Built once per cached entry a process sees (statuspool.credcache.prepared).
_prepared = Prepared(_prepare)


def _rate_limit_identity(entry: dict) -> str:
    return f"oauth:{entry['application_id']}:{entry['account_id']}"


def _lookup_of(raw: str) -> CacheLookup | None:
    """How ``raw`` is looked up (its checksum); None for a malformed token (a typo or a random
    string: refused without touching Redis or the database)."""
    if not token_format.is_well_formed(raw, token_format.ACCESS_PREFIX):
        return None
    return authcache.lookup_of(token_format.token_checksum(raw))


def authenticate_access_token(raw: str, request) -> Credential:
    found = early_lookup.look_up(request, raw, _lookup_of)
    if found is None:
        raise InvalidToken()
    if found.believed:
        prepared = _prepared(found)
    else:
        checksum = token_format.token_checksum(raw)
        row = live_access_token(checksum)
        if row is None:
            raise InvalidToken()
        entry = _entry(row)
        authcache.store(
            checksum,
            entry,
            found.generation,
            rate_limit_identity=_rate_limit_identity(entry),
            scopes=entry["scopes"],
            # A bound token counts only once its proof is checked: whoever stole the token
            # without the key must not use up its owner's limit.
            count_after_checks=bool(entry["jkt"]),
        )
        prepared = _prepare(entry)
    if prepared.expires_at <= timezone.now():
        raise InvalidToken()
    _check_dpop(prepared.jkt, raw, request)
    credential = prepared.credential
    if found.count is not None:
        throttling.remember_count(
            request, credential.rate_limit_identity, found.count, found.window
        )
    return credential


authenticate_access_token.accepts_dpop = True
authenticate_access_token.lookup_of = _lookup_of  # sent ahead by statuspool.api.early_lookup
