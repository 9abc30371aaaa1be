"""Helpers for OAuth tests: PKCE pairs, the consent round trip, token requests, direct token_format.

``oauth_bearer(account, scopes)`` has the signature of tests/api/fixtures.py's bearer factories,
so the /v2 scope matrix runs with OAuth access tokens too (BEARER_FACTORIES["oauth"]).
"""

import base64
import hashlib
import itertools
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from django.utils import timezone
from oauth2_provider.models import set_token_value

from audit.services import Actor
from oauthapps import services, token_format
from oauthapps.models import AccessToken, Authorization, RefreshToken
from oauthapps.scopes import MEMBER_SCOPES
from statuspool.accounts.models import Membership, Role, User

REDIRECT_URI = "https://hooks.internal.example.com/callback"
_users = itertools.count(1)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def register_app(account, *, name="PagerDuty Sync", redirect_uris=(REDIRECT_URI,), user=None):
    """(application, plaintext client secret), registered through the service."""
    return services.application_register(
        account=account,
        name=name,
        description="Syncs incidents with PagerDuty.",
        redirect_uris=list(redirect_uris),
        actor=Actor.system("tests"),
        created_by=user,
    )


def authorize_url(app, *, scope="monitors:read alerts:read", state="xyz", challenge=None, **extra):
    params = {
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": scope,
        "state": state,
        "code_challenge": challenge if challenge is not None else pkce_pair()[1],
        "code_challenge_method": "S256",
    }
    params.update(extra)
    params = {key: value for key, value in params.items() if value is not None}
    return "/oauth/authorize?" + urlencode(params)


def query_of(location: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def obtain_code(client, app, *, scope="monitors:read alerts:read", state="xyz", account=None):
    """Approve the consent screen as the logged-in client; returns (code, code_verifier)."""
    verifier, challenge = pkce_pair()
    url = authorize_url(app, scope=scope, state=state, challenge=challenge)
    data = {"decision": "approve"}
    if account is not None:
        data["account"] = account.pk
    else:
        data["account"] = client.get(url).context["form"]["account"].value()
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:500]
    return query_of(response["Location"])["code"], verifier


def token_request(client, app, secret, **data):
    return client.post(
        "/oauth/token",
        data,
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode(),
    )


def exchange_code(client, app, secret, code, verifier, redirect_uri=REDIRECT_URI):
    return token_request(
        client,
        app,
        secret,
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
    )


def refresh(client, app, secret, refresh_token):
    return token_request(
        client, app, secret, grant_type="refresh_token", refresh_token=refresh_token
    )


def issue_tokens(app, user, account, scopes, *, expires_in=3600) -> tuple[str, str]:
    """An approved grant with an access + refresh token pair straight in the database."""
    authorization = services.authorization_approve(
        user=user, application=app, account=account, scopes=list(scopes), actor=Actor.system("t")
    )
    access_raw, refresh_raw = (
        token_format.generate_access_token(),
        token_format.generate_refresh_token(),
    )
    access = AccessToken(
        user=user,
        application=app,
        authorization=authorization,
        scope=" ".join(scopes),
        expires=timezone.now() + timedelta(seconds=expires_in),
    )
    set_token_value(access, access_raw)
    access.save()
    refresh_token = RefreshToken(
        user=user, application=app, authorization=authorization, access_token=access
    )
    set_token_value(refresh_token, refresh_raw)
    refresh_token.save()
    return access_raw, refresh_raw


def oauth_bearer(account, scopes) -> str:
    """A bearer OAuth token acting for ``account`` with exactly ``scopes`` (the /v2 matrix)."""
    role = Role.MEMBER if set(scopes) <= MEMBER_SCOPES else Role.ADMIN
    user = User.objects.create_user(f"oauth-user-{next(_users)}@example.test", "x" * 20)
    Membership.objects.create(user=user, account=account, role=role)
    app, _ = register_app(account, name=f"Matrix client {user.pk}")
    access, _ = issue_tokens(app, user, account, scopes)
    return f"Bearer {access}"


def active_authorizations(user):
    return Authorization.objects.active().filter(user=user)
