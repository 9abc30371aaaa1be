"""OAuth workflows. Each one is a single transaction together with its audit event.

Plaintext client secrets exist only in the return values of ``application_register`` and
``application_reset_secret`` (the page that shows them once); the database keeps digests.
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret

from audit.services import Actor, record
from oauthapps import authcache, device
from oauthapps.models import (
    AccessToken,
    Application,
    ApplicationLogo,
    Authorization,
    DeviceGrant,
    Grant,
    RefreshToken,
)
from statuspool.notifications.security import security_notify
from statuspool.scopes import order_scopes

log = logging.getLogger(__name__)


WEB = "web"
CLI = "cli"
PROFILE_FIELDS = ("homepage_url", "privacy_policy_url", "allowed_scopes", "require_dpop")


def _application_details(application: Application) -> dict:
    return {
        "name": application.name,
        "client_id": application.client_id,
        "redirect_uris": application.redirect_uri_list,
        "client_kind": CLI if application.is_device_client else WEB,
        "homepage_url": application.homepage_url,
        "privacy_policy_url": application.privacy_policy_url,
        "allowed_scopes": application.allowed_scopes,
        "require_dpop": application.require_dpop,
    }


def _revoke_tokens(tokens_filter: Q) -> None:
    """Kill every refresh and access token matching the filter, in two statements."""
    now = timezone.now()
    RefreshToken.objects.filter(tokens_filter, revoked__isnull=True).update(
        revoked=now, updated=now
    )
    AccessToken.objects.filter(tokens_filter).delete()


# --- Applications --------------------------------------------------------------------------------
def application_register(
    *,
    account,
    name: str,
    description: str,
    redirect_uris: list[str],
    actor: Actor,
    created_by,
    client_kind: str = WEB,
    **profile,
) -> tuple[Application, str]:
    """Register a client; returns (application, plaintext secret — "" for a public CLI client).

    ``web``: confidential, authorization code with PKCE (S256). ``cli``: public, no secret and no
    redirect URI, device authorization grant only. ``profile``: any of ``PROFILE_FIELDS``.
    """
    cli = client_kind == CLI
    secret = "" if cli else generate_client_secret()
    with transaction.atomic():
        application = Application(
            account=account,
            name=name,
            description=description,
            redirect_uris="" if cli else " ".join(redirect_uris),
            client_type=Application.CLIENT_PUBLIC if cli else Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=(
                Application.GRANT_DEVICE_CODE if cli else Application.GRANT_AUTHORIZATION_CODE
            ),
            client_secret=secret,
            created_by=created_by,
            **{field: profile[field] for field in PROFILE_FIELDS if field in profile},
        )
        application.save()
        record(
            action="oauth.application_registered",
            actor=actor,
            account=account,
            target=application,
            details=_application_details(application) | {"description": description},
        )
        security_notify(
            account=account,
            kind="oauth.application_registered",
            actor=actor,
            context={"app_name": application.name},
        )
    return application, secret


def application_update(
    *,
    application: Application,
    name: str,
    description: str,
    redirect_uris: list[str],
    actor,
    **profile,
) -> Application:
    with transaction.atomic():
        before = _application_details(application) | {"description": application.description}
        application.name = name
        application.description = description
        if not application.is_device_client:
            application.redirect_uris = " ".join(redirect_uris)
        changed_profile = [field for field in PROFILE_FIELDS if field in profile]
        for field in changed_profile:
            setattr(application, field, profile[field])
        application.save(
            update_fields=["name", "description", "redirect_uris", "updated", *changed_profile]
        )
        after = _application_details(application) | {"description": description}
        changed = {field: after[field] for field in after if after[field] != before[field]}
        if "name" in changed:  # the label cached credentials carry into logs and audit events
            authcache.invalidate_live_tokens(application=application)
        record(
            action="oauth.application_updated",
            actor=actor,
            account=application.account_id,
            target=application,
            details={"client_id": application.client_id, "changed": changed},
        )
    return application


def application_reset_secret(*, application: Application, actor: Actor) -> str:
    """Replace the client secret; the old one stops authenticating at once. Returns the new one.

    Tokens already issued keep working: a leaked secret lets someone mint tokens only with a
    valid authorization code or refresh token, which the owner can revoke separately.
    """
    secret = generate_client_secret()
    with transaction.atomic():
        application.client_secret = secret
        application.secret_reset_at = timezone.now()
        application.save(update_fields=["client_secret", "secret_reset_at", "updated"])
        record(
            action="oauth.secret_reset",
            actor=actor,
            account=application.account_id,
            target=application,
            details={"name": application.name, "client_id": application.client_id},
        )
        security_notify(
            account=application.account,
            kind="oauth.secret_reset",
            actor=actor,
            context={"app_name": application.name},
        )
    return secret


def application_delete(*, application: Application, actor: Actor) -> None:
    """Delete the application with every grant, code and token it holds, in one transaction."""
    with transaction.atomic():
        authorizations = Authorization.objects.filter(application=application)
        details = _application_details(application) | {
            "authorizations_revoked": authorizations.active().count()
        }
        record(
            action="oauth.application_deleted",
            actor=actor,
            account=application.account_id,
            target=application,
            details=details,
        )
        security_notify(
            account=application.account,
            kind="oauth.application_deleted",
            actor=actor,
            context={"app_name": application.name},
        )
        _revoke_tokens(Q(application=application))
        Grant.objects.filter(application=application).delete()
        application.delete()


# --- Grants (Authorizations) ---------------------------------------------------------------------
def authorization_approve(
    *, user, application: Application, account, scopes: list[str], actor: Actor, flow: str = "code"
) -> Authorization:
    """Record consent; approving again for the same account widens the existing grant."""
    scopes = order_scopes(scopes)
    with transaction.atomic():
        authorization = (
            Authorization.objects.select_for_update()
            .active()
            .filter(user=user, application=application, account=account)
            .first()
        )
        if authorization is None:
            authorization = Authorization.objects.create(
                user=user, application=application, account=account, scopes=scopes
            )
        else:
            # Tokens keep their own scopes; the grant lists everything ever approved under it.
            authorization.scopes = order_scopes([*authorization.scopes, *scopes])
            authorization.save(update_fields=["scopes"])
        record(
            action="oauth.grant_approved",
            actor=actor,
            account=account,
            target=authorization,
            target_label=f"{application.name} for {user.email}",
            details={
                "application": application.name,
                "client_id": application.client_id,
                "scopes": scopes,
                "flow": flow,
            },
        )
        security_notify(
            account=account,
            kind="oauth.grant_approved",
            actor=actor,
            subject_user=user,
            context={"app_name": application.name, "scopes": ", ".join(scopes)},
        )
    return authorization


def authorization_deny(
    *, user, application: Application, account, scopes: list[str], actor, flow: str = "code"
):
    with transaction.atomic():
        record(
            action="oauth.grant_denied",
            actor=actor,
            account=account,
            target=application,
            details={
                "application": application.name,
                "client_id": application.client_id,
                "scopes": order_scopes(scopes),
                "user": user.email,
                "flow": flow,
            },
        )


def _grant_target(authorization: Authorization | None) -> dict:
    """The audit target of an event about a grant's tokens (a token may have lost its grant)."""
    return {
        "account": authorization.account_id if authorization else None,
        "target_type": "authorization",
        "target_id": str(authorization.pk) if authorization else "",
    }


def _end_grant(authorization: Authorization) -> Authorization | None:
    """Lock the grant and end it: its tokens stop working, its unredeemed codes are gone.

    Returns the locked row, or None when it had already ended (nothing to record twice). Call it
    inside the caller's transaction, which also writes the audit event.
    """
    locked = (
        Authorization.objects.select_for_update(of=("self",))
        .select_related("application", "user", "account")
        .get(pk=authorization.pk)
    )
    if locked.revoked_at is not None:
        return None
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    _revoke_tokens(Q(authorization=locked))
    Grant.objects.filter(authorization=locked, redeemed_at__isnull=True).delete()
    return locked


def authorization_revoke(*, authorization: Authorization, actor: Actor, reason: str = "") -> None:
    """End a grant: every access and refresh token issued under it stops working at once."""
    with transaction.atomic():
        locked = _end_grant(authorization)
        if locked is None:
            return
        record(
            action="oauth.grant_revoked",
            actor=actor,
            account=locked.account_id,
            target=locked,
            target_label=f"{locked.application.name} for {locked.user.email}",
            details={
                "application": locked.application.name,
                "client_id": locked.application.client_id,
                "scopes": locked.scopes,
                "reason": reason or "revoked by user",
            },
        )
        security_notify(
            account=locked.account,
            kind="oauth.grant_revoked",
            actor=actor,
            subject_user=locked.user,
            context={"app_name": locked.application.name, "grant_user": locked.user.email},
        )
        authorization.revoked_at = locked.revoked_at


def authorization_revoke_leaked(
    *, authorization: Authorization, actor: Actor, url: str, source: str = "", token_kind: str
) -> bool:
    """A secret scanner found one of the grant's tokens in public: end the whole grant (a leaked
    refresh token mints new access tokens, a leaked access token says the client's storage is
    exposed). Returns False if the grant had already ended."""
    with transaction.atomic():
        locked = _end_grant(authorization)
        if locked is None:
            return False
        record(
            action="oauth.leaked_revoked",
            actor=actor,
            account=locked.account_id,
            target=locked,
            target_label=f"{locked.application.name} for {locked.user.email}",
            details={
                "application": locked.application.name,
                "client_id": locked.application.client_id,
                "token_kind": token_kind,
                "url": url[:500],
                "source": source[:100],
                "reporter": actor.label,
            },
        )
        security_notify(
            account=locked.account,
            kind="apikey.leaked_revoked",
            actor=actor,
            subject_user=locked.user,
            context={
                "credential_description": f"An OAuth {token_kind} of “{locked.application.name}” "
                f"acting for {locked.user.email}",
                "leak_url": url[:500],
                "reporter": actor.label,
                "key_url": settings.SITE_URL + reverse("oauthapps:connected_list"),
            },
        )
    return True


def authorizations_revoke_for_membership(
    *, user_id, account_id, actor: Actor, reason: str = "left the account"
) -> int:
    """Someone left an account or lost a role: their grants there end with it."""
    revoked = 0
    grants = Authorization.objects.active().filter(user_id=user_id, account_id=account_id)
    for authorization in grants.select_related("application", "user"):
        authorization_revoke(authorization=authorization, actor=actor, reason=reason)
        revoked += 1
    return revoked


# --- Token abuse -----------------------------------------------------------------------------------
def refresh_reuse_detected(*, refresh_token: RefreshToken, actor: Actor) -> None:
    """A spent refresh token came back: it was copied. DOT revokes the family; we audit it."""
    authorization = refresh_token.authorization
    with transaction.atomic():
        record(
            action="oauth.refresh_reuse_detected",
            actor=actor,
            account=authorization.account_id if authorization else None,
            target=authorization,
            target_type="authorization",
            target_id=str(authorization.pk) if authorization else "",
            target_label=f"{refresh_token.application.name}",
            details={
                "application": refresh_token.application.name,
                "client_id": refresh_token.application.client_id,
                "refresh_token_id": refresh_token.pk,
                "family_revoked": True,
            },
        )


def code_replay_detected(*, grant: Grant, actor: Actor) -> None:
    """An authorization code was redeemed twice: revoke what the first redemption issued."""
    log.warning(
        "Authorization code of grant #%s redeemed twice (application #%s); revoking its tokens",
        grant.pk,
        grant.application_id,
    )
    authorization = grant.authorization
    with transaction.atomic():
        if grant.token_family:
            # The grant's lock first, as every refresh takes it: a refresh of this family running
            # now finishes before the sweep, so its new token is swept too.
            list(
                Authorization.objects.select_for_update()
                .filter(pk=grant.authorization_id)
                .values("pk")
            )
            RefreshToken.revoke_family(grant.token_family)
        record(
            action="oauth.code_replay_detected",
            actor=actor,
            **_grant_target(authorization),
            target_label=grant.application.name,
            details={
                "application": grant.application.name,
                "client_id": grant.application.client_id,
                "grant_id": grant.pk,
                "family_revoked": bool(grant.token_family),
            },
        )


# --- Device authorization grant (RFC 8628) --------------------------------------------------------
def device_grant_create(
    *,
    application: Application,
    scopes: list[str],
    device_code: str,
    user_code: str,
    expires_in: int,
    interval: int,
) -> DeviceGrant:
    """Store a new device authorization: both codes only as digests. Not audited: anyone holding
    a public client_id can ask, and nothing is granted until a person approves on /device."""
    return DeviceGrant.objects.create(
        application=application,
        client_id=application.client_id,
        device_code=device_code,
        user_code=device.user_code_digest(user_code),
        scope=" ".join(order_scopes(scopes)),
        expires=timezone.now() + timedelta(seconds=expires_in),
        interval=interval,
    )


def device_grant_claim(*, grant: DeviceGrant, user) -> bool:
    """The first person to type a user code owns it; for anyone else it no longer exists."""
    claimed = (
        DeviceGrant.objects.filter(pk=grant.pk, status=DeviceGrant.AUTHORIZATION_PENDING)
        .filter(Q(user__isnull=True) | Q(user=user))
        .update(user=user)
    )
    return bool(claimed)


def device_grant_decide(*, grant: DeviceGrant, user, account, approve: bool, actor: Actor) -> None:
    """Approve (the grant and its consent, audited as oauth.grant_approved) or deny the device."""
    with transaction.atomic():
        locked = DeviceGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.status != DeviceGrant.AUTHORIZATION_PENDING or locked.user_id != user.pk:
            return
        common = {
            "user": user,
            "application": grant.application,
            "account": account,
            "scopes": grant.scope.split(),
            "actor": actor,
            "flow": "device",
        }
        if approve:
            locked.authorization = authorization_approve(**common)
            locked.status = DeviceGrant.AUTHORIZED
        else:
            authorization_deny(**common)
            locked.status = DeviceGrant.DENIED
        locked.decided_at = timezone.now()
        locked.save(update_fields=["authorization", "status", "decided_at"])
        grant.status = locked.status


# --- Application logo ------------------------------------------------------------------------------
def application_set_logo(*, application: Application, png: bytes | None, actor: Actor) -> None:
    """Store (or, with None, remove) the validated 128x128 PNG logo, audited with its digest."""
    with transaction.atomic():
        if png is None:
            ApplicationLogo.objects.filter(application=application).delete()
            digest = ""
        else:
            digest = hashlib.sha256(png).hexdigest()[:16]
            ApplicationLogo.objects.update_or_create(
                application=application,
                defaults={"png": png, "digest": digest, "updated_at": timezone.now()},
            )
        record(
            action="oauth.application_logo_changed",
            actor=actor,
            account=application.account_id,
            target=application,
            details={"client_id": application.client_id, "logo_sha256_16": digest or None},
        )


def token_revoked_by_client(*, token, token_type: str, actor: Actor) -> None:
    """The client application ended one of its own tokens through /oauth/revoke (RFC 7009)."""
    authorization = token.authorization
    with transaction.atomic():
        record(
            action="oauth.token_revoked",
            actor=actor,
            **_grant_target(authorization),
            target_label=token.application.name,
            details={
                "application": token.application.name,
                "client_id": token.application.client_id,
                "token_type": token_type,
                "token_id": token.pk,
            },
        )
