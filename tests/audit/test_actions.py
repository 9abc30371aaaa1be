"""Every audited action, performed through its service, records exactly one event with the right
actor, source, target and details (never a secret), in the account's verifiable chain."""

import json
from dataclasses import dataclass, field

import pytest
from django.test import RequestFactory

from audit.chain import verify_all
from audit.models import AuditEvent
from audit.services import Actor, ActorKind
from tests.conftest import PASSWORD, login, totp_now

from .conftest import bearer

IP = "198.51.100.77"
AGENT = "Mozilla/5.0 (audit table)"


@dataclass
class Case:
    """What one action did: the event must say so."""

    target_type: str
    target_id: str
    account: object = "A"  # "A" = account A, None = no account
    actor_kind: str = ActorKind.USER
    actor_email: str = "alice@acme.test"
    details: dict = field(default_factory=dict)  # must be included in the event's details
    secrets: tuple = ()  # values that must appear nowhere in the event


@pytest.fixture
def ctx(account_a, alice, make_key):
    request = RequestFactory().get("/", REMOTE_ADDR=IP, HTTP_USER_AGENT=AGENT)
    request.user = alice

    class Context:
        pass

    context = Context()
    context.account, context.alice = account_a, alice
    context.actor = Actor.from_request(request)
    context.key, context.raw = make_key(account_a, name="table-key", scopes=["monitors:read"])
    return context


def _application(ctx):
    from oauthapps.services import application_register

    return application_register(
        account=ctx.account,
        name="PagerDuty Sync",
        description="Syncs incidents",
        redirect_uris=["https://hooks.example.com/callback"],
        actor=Actor.system(label="setup"),
        created_by=ctx.alice,
    )


def _authorization(ctx):
    from oauthapps.services import authorization_approve

    application, _ = _application(ctx)
    return authorization_approve(
        user=ctx.alice,
        application=application,
        account=ctx.account,
        scopes=["monitors:read"],
        actor=Actor.system(label="setup"),
    )


# --- the actions --------------------------------------------------------------------------------
def signup(ctx):
    from statuspool.onboarding.services import account_create

    account, user, plaintext = account_create(
        name="Newco",
        owner_email="founder@newco.test",
        owner_password=PASSWORD,
        actor=Actor(kind=ActorKind.USER, ip=IP, user_agent=AGENT),
        signup=True,
    )
    return Case(
        "user",
        str(user.pk),
        account=account,
        actor_email="founder@newco.test",
        details={"email": "founder@newco.test"},
        secrets=(plaintext, PASSWORD),
    )


def account_created(ctx):
    from statuspool.onboarding.services import account_create

    account, user, plaintext = account_create(
        name="Opsco",
        owner_email="ops@opsco.test",
        owner_password=PASSWORD,
        actor=Actor.system(label="manage.py createaccount"),
    )
    return Case(
        "account",
        str(account.pk),
        account=account,
        actor_kind=ActorKind.SYSTEM,
        actor_email="",
        details={"name": "Opsco", "plan": "team", "owner": "ops@opsco.test"},
        secrets=(plaintext, PASSWORD),
    )


def login_ok(ctx):
    from statuspool.accounts.services import login_succeeded

    login_succeeded(user=ctx.alice, actor=ctx.actor, method="totp")
    return Case("user", str(ctx.alice.pk), details={"method": "totp"})


def login_failed_known(ctx):
    from statuspool.accounts.services import login_failed

    login_failed(email=ctx.alice.email, user=ctx.alice, actor=ctx.actor, reason="wrong_password")
    return Case("user", str(ctx.alice.pk), details={"reason": "wrong_password"})


def login_failed_unknown(ctx):
    from statuspool.accounts.services import login_failed

    actor = Actor(kind=ActorKind.USER, ip=IP, user_agent=AGENT)
    login_failed(email="ghost@nowhere.test", user=None, actor=actor, reason="unknown_email")
    return Case("user", "", account=None, actor_email="", details={"email": "ghost@nowhere.test"})


def twofactor_enrolled(ctx):
    import pyotp

    from statuspool.accounts.models import Membership, Role
    from statuspool.accounts.services import twofactor_begin, twofactor_confirm
    from tests.conftest import make_user

    erin = make_user("erin@acme.test", with_2fa=False)
    Membership.objects.create(user=erin, account=ctx.account, role=Role.MEMBER)
    device = twofactor_begin(user=erin)
    codes = twofactor_confirm(user=erin, code=pyotp.TOTP(device.secret).now(), actor=_as(erin))
    return Case("user", str(erin.pk), actor_email="erin@acme.test", secrets=tuple(codes))


def twofactor_disabled(ctx):
    from statuspool.accounts.services import twofactor_disable

    twofactor_disable(user=ctx.alice, actor=ctx.actor)
    return Case("user", str(ctx.alice.pk))


def recovery_regenerated(ctx):
    from statuspool.accounts.services import recovery_codes_regenerate

    codes = recovery_codes_regenerate(user=ctx.alice, actor=ctx.actor)
    return Case("user", str(ctx.alice.pk), secrets=tuple(codes))


def sudo_failed(ctx, client):
    login(client, ctx.alice)
    response = client.post(
        "/settings/api-access/new/",
        {
            "name": "ci",
            "scopes": ["monitors:read"],
            "password": "wrong password",
            "otp_code": totp_now(ctx.alice),
        },
        REMOTE_ADDR=IP,
        HTTP_USER_AGENT=AGENT,
    )
    assert response.status_code == 200
    return Case(
        "user", str(ctx.alice.pk), details={"reason": "wrong_password"}, secrets=("wrong password",)
    )


def password_changed(ctx):
    from statuspool.accounts.services import password_change

    password_change(user=ctx.alice, new_password="a much better passphrase 42", actor=ctx.actor)
    return Case("user", str(ctx.alice.pk), secrets=("a much better passphrase 42",))


def security_notifications_changed(ctx):
    from statuspool.accounts.notification_prefs import security_notifications_update

    security_notifications_update(user=ctx.alice, wanted=set(), actor=ctx.actor)
    return Case("user", str(ctx.alice.pk), details={"turned_on": []})


def apikey_created(ctx):
    from apikeys.services import apikey_create

    key, raw = apikey_create(
        account=ctx.account, name="deploy", scopes=["alerts:read"], actor=ctx.actor
    )
    return Case(
        "apikey", str(key.pk), details={"name": "deploy", "scopes": ["alerts:read"]}, secrets=(raw,)
    )


def apikey_rotated(ctx):
    from apikeys.replacement import apikey_rotate

    new, raw = apikey_rotate(key=ctx.key, actor=ctx.actor, expire_old_in=_grace())
    ctx.key.refresh_from_db()
    return Case(
        "apikey",
        str(new.pk),
        details={"old_public_id": ctx.key.public_id, "new_public_id": new.public_id},
        secrets=(raw, ctx.raw),
    )


def apikey_replaced(ctx):
    from apikeys.replacement import apikey_replace

    new, raw = apikey_replace(key=ctx.key, actor=ctx.actor, expire_old_in="now", name="table-2")
    return Case(
        "apikey",
        str(new.pk),
        details={"old_public_id": ctx.key.public_id, "name": "table-2"},
        secrets=(raw, ctx.raw),
    )


def apikey_details_changed(ctx):
    from apikeys.services import apikey_update_details

    apikey_update_details(key=ctx.key, name="renamed", description="for CI", actor=ctx.actor)
    return Case(
        "apikey",
        str(ctx.key.pk),
        details={
            "changed": {
                "name": {"before": "table-key", "after": "renamed"},
                "description": {"before": "", "after": "for CI"},
            }
        },
    )


def apikey_expired(ctx):
    from datetime import timedelta

    from django.utils import timezone

    from apikeys.expiry import apikeys_expire
    from apikeys.models import ApiKey

    expires = timezone.now() - timedelta(minutes=1)
    ApiKey.objects.filter(pk=ctx.key.pk).update(expires_at=expires)
    assert apikeys_expire()["expired"] == [ctx.key.public_id]
    return Case(
        "apikey",
        str(ctx.key.pk),
        actor_kind=ActorKind.SYSTEM,
        actor_email="",
        details={"expires_at": expires.isoformat()},
        secrets=(ctx.raw,),
    )


def apikey_policy_changed(ctx):
    from apikeys.policy import apikey_policy_update

    ctx.account.plan = "enterprise"
    ctx.account.save(update_fields=["plan"])
    apikey_policy_update(
        account=ctx.account, max_lifetime_days=90, require_allowlist=True, actor=ctx.actor
    )
    return Case(
        "account",
        str(ctx.account.pk),
        details={"after": {"max_lifetime_days": 90, "require_allowlist": True}},
    )


def _grace():
    from apikeys.replacement import EXPIRY_CHOICES

    return next(choice for choice, delta in EXPIRY_CHOICES.items() if delta is not None)


def apikey_revoked(ctx):
    from apikeys.services import apikey_revoke

    apikey_revoke(key=ctx.key, actor=ctx.actor, reason="compromised", revoked_by=ctx.alice)
    return Case("apikey", str(ctx.key.pk), details={"reason": "compromised"}, secrets=(ctx.raw,))


def apikey_suspended(ctx):
    from apikeys.services import apikey_suspend

    apikey_suspend(
        key=ctx.key, actor=Actor.system(label="apikeys.tasks.suspend_stale_keys"), reason="idle"
    )
    return Case("apikey", str(ctx.key.pk), actor_kind=ActorKind.SYSTEM, actor_email="")


def apikey_reactivated(ctx):
    from apikeys.services import apikey_reactivate, apikey_suspend

    apikey_suspend(key=ctx.key, actor=Actor.system(label="setup"), reason="idle")
    apikey_reactivate(key=ctx.key, actor=ctx.actor)
    return Case("apikey", str(ctx.key.pk))


def apikey_flagged_stale(ctx):
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from apikeys.stale import apikeys_flag_stale

    now = timezone.now() + timedelta(days=settings.APIKEY_STALE_DAYS + 1)
    result = apikeys_flag_stale(now=now)
    assert ctx.key.public_id in result["flagged"]
    return Case("apikey", str(ctx.key.pk), actor_kind=ActorKind.SYSTEM, actor_email="")


def apikey_kept_active(ctx):
    from apikeys.services import apikey_keep_active

    apikey_keep_active(key=ctx.key, actor=ctx.actor)
    return Case("apikey", str(ctx.key.pk))


def apikey_scopes_changed(ctx):
    from apikeys.services import apikey_update_scopes

    apikey_update_scopes(key=ctx.key, scopes=["monitors:read", "alerts:read"], actor=ctx.actor)
    return Case(
        "apikey",
        str(ctx.key.pk),
        details={"before": ["monitors:read"], "after": ["monitors:read", "alerts:read"]},
    )


def apikey_allowlist_changed(ctx):
    from apikeys.restriction_services import apikey_set_allowed_networks

    ctx.account.plan = "enterprise"
    ctx.account.save(update_fields=["plan"])
    apikey_set_allowed_networks(key=ctx.key, networks=["203.0.113.0/24"], actor=ctx.actor)
    return Case("apikey", str(ctx.key.pk), details={"allowed_networks": ["203.0.113.0/24"]})


def apikey_usage_alerts_changed(ctx):
    from apikeys.restriction_services import apikey_set_usage_alerts

    apikey_set_usage_alerts(key=ctx.key, enabled=True, actor=ctx.actor)
    return Case("apikey", str(ctx.key.pk), details={"usage_alerts_enabled": True})


def oauth_registered(ctx):
    from oauthapps.services import application_register

    application, secret = application_register(
        account=ctx.account,
        name="Grafana",
        description="Dashboards",
        redirect_uris=["https://grafana.example.com/cb"],
        actor=ctx.actor,
        created_by=ctx.alice,
    )
    return Case("application", str(application.pk), details={"name": "Grafana"}, secrets=(secret,))


def oauth_updated(ctx):
    from oauthapps.services import application_update

    application, secret = _application(ctx)
    application_update(
        application=application,
        name="PagerDuty Sync 2",
        description="Syncs incidents",
        redirect_uris=["https://hooks.example.com/callback"],
        actor=ctx.actor,
    )
    return Case(
        "application",
        str(application.pk),
        details={"changed": {"name": "PagerDuty Sync 2"}},
        secrets=(secret,),
    )


def oauth_secret_reset(ctx):
    from oauthapps.services import application_reset_secret

    application, old = _application(ctx)
    new = application_reset_secret(application=application, actor=ctx.actor)
    return Case("application", str(application.pk), secrets=(old, new))


def oauth_logo_changed(ctx):
    from oauthapps.services import application_set_logo

    application, secret = _application(ctx)
    application_set_logo(application=application, png=b"\x89PNG fake bytes", actor=ctx.actor)
    return Case("application", str(application.pk), secrets=(secret,))


def oauth_deleted(ctx):
    from oauthapps.services import application_delete

    application, secret = _application(ctx)
    pk = application.pk
    application_delete(application=application, actor=ctx.actor)
    return Case("application", str(pk), details={"name": "PagerDuty Sync"}, secrets=(secret,))


def grant_approved(ctx):
    from oauthapps.services import authorization_approve

    application, _ = _application(ctx)
    authorization = authorization_approve(
        user=ctx.alice,
        application=application,
        account=ctx.account,
        scopes=["monitors:read"],
        actor=ctx.actor,
    )
    return Case("authorization", str(authorization.pk), details={"scopes": ["monitors:read"]})


def grant_denied(ctx):
    from oauthapps.services import authorization_deny

    application, _ = _application(ctx)
    authorization_deny(
        user=ctx.alice,
        application=application,
        account=ctx.account,
        scopes=["monitors:read"],
        actor=ctx.actor,
    )
    return Case("application", str(application.pk), details={"user": "alice@acme.test"})


def grant_revoked(ctx):
    from oauthapps.services import authorization_revoke

    authorization = _authorization(ctx)
    authorization_revoke(authorization=authorization, actor=ctx.actor)
    return Case("authorization", str(authorization.pk))


def refresh_reuse(ctx):
    from oauthapps.models import RefreshToken
    from oauthapps.services import refresh_reuse_detected

    authorization = _authorization(ctx)
    token = RefreshToken.objects.create(
        user=ctx.alice,
        token="sp_ort_" + "r" * 40,
        application=authorization.application,
        authorization=authorization,
    )
    app_actor = Actor(kind=ActorKind.OAUTH_APP, label="PagerDuty Sync", ip=IP, user_agent=AGENT)
    refresh_reuse_detected(refresh_token=token, actor=app_actor)
    return Case(
        "authorization",
        str(authorization.pk),
        actor_kind=ActorKind.OAUTH_APP,
        actor_email="",
        details={"family_revoked": True},
        secrets=("sp_ort_" + "r" * 40,),
    )


# --- teams (issue 15) ---------------------------------------------------------------------------
def _acting(ctx):
    from statuspool.accounts.team_services import Acting

    return Acting(actor=ctx.actor, role="owner", user=ctx.alice)


def _member(ctx, email="dave@acme.test", role="member", with_2fa=True):
    from statuspool.accounts.models import Membership
    from tests.conftest import make_user

    user = make_user(email, with_2fa=with_2fa)
    return Membership.objects.create(user=user, account=ctx.account, role=role)


def _invite(ctx, email="erin@newcomer.test"):
    from statuspool.accounts.invitation_services import invitation_create

    return invitation_create(account=ctx.account, email=email, role="admin", acting=_acting(ctx))


def team_invited(ctx):
    invitation, raw = _invite(ctx)
    return Case(
        "invitation",
        str(invitation.pk),
        details={"email": "erin@newcomer.test", "role": "admin"},
        secrets=(raw,),
    )


def team_invitation_resent(ctx):
    from statuspool.accounts.invitation_services import invitation_resend

    invitation, old = _invite(ctx)
    new = invitation_resend(invitation=invitation, acting=_acting(ctx))
    return Case(
        "invitation", str(invitation.pk), details={"email": invitation.email}, secrets=(old, new)
    )


def team_invitation_revoked(ctx):
    from statuspool.accounts.invitation_services import invitation_revoke

    invitation, raw = _invite(ctx)
    invitation_revoke(invitation=invitation, acting=_acting(ctx))
    return Case("invitation", str(invitation.pk), details={"role": "admin"}, secrets=(raw,))


def team_joined(ctx):
    from statuspool.accounts.invitation_services import invitation_accept
    from tests.conftest import make_user

    invitation, raw = _invite(ctx)
    erin = make_user("erin@newcomer.test")
    invitation_accept(invitation=invitation, user=erin, actor=_as(erin))
    return Case(
        "user",
        str(erin.pk),
        actor_email="erin@newcomer.test",
        details={"role": "admin", "invited_by": "alice@acme.test"},
        secrets=(raw,),
    )


def team_role_changed(ctx):
    from statuspool.accounts.team_services import member_change_role

    membership = _member(ctx)
    member_change_role(membership=membership, role="admin", acting=_acting(ctx))
    return Case("user", str(membership.user_id), details={"before": "member", "after": "admin"})


def team_member_removed(ctx):
    from statuspool.accounts.team_services import member_remove

    membership = _member(ctx, role="admin")
    member_remove(membership=membership, acting=_acting(ctx))
    return Case(
        "user", str(membership.user_id), details={"email": "dave@acme.test", "role": "admin"}
    )


def team_ownership_transferred(ctx):
    from statuspool.accounts.team_services import ownership_transfer

    membership = _member(ctx, role="admin")
    ownership_transfer(account=ctx.account, new_owner=membership.user, acting=_acting(ctx))
    return Case(
        "user",
        str(membership.user_id),
        details={"previous_owner": "alice@acme.test", "new_owner": "dave@acme.test"},
    )


def account_require_2fa_changed(ctx):
    from statuspool.accounts.team_services import account_set_require_2fa

    account_set_require_2fa(account=ctx.account, enabled=True, acting=_acting(ctx))
    return Case("account", str(ctx.account.pk), details={"require_2fa": True})


def account_billing_email_changed(ctx):
    from statuspool.accounts.team_services import account_update_billing_email

    account_update_billing_email(
        account=ctx.account, billing_email="invoices@acme.test", acting=_acting(ctx)
    )
    return Case(
        "account",
        str(ctx.account.pk),
        details={"before": "billing@acme.test", "after": "invoices@acme.test"},
    )


def account_plan_changed(ctx):
    from statuspool.accounts.team_services import account_set_plan

    account_set_plan(
        account=ctx.account, plan="enterprise", actor=Actor.system("manage.py setplan")
    )
    return Case(
        "account",
        str(ctx.account.pk),
        actor_kind=ActorKind.SYSTEM,
        actor_email="",
        details={"before": "team", "after": "enterprise"},
    )


def password_reset_requested(ctx):
    from statuspool.accounts.password_reset import password_reset_request

    password_reset_request(email="ALICE@acme.test", actor=ctx.actor)
    return Case("user", str(ctx.alice.pk), details={"known": True})


def password_reset_requested_unknown(ctx):
    from statuspool.accounts.password_reset import password_reset_request

    actor = Actor(kind=ActorKind.USER, ip=IP, user_agent=AGENT)
    password_reset_request(email="ghost@nowhere.test", actor=actor)
    return Case("user", "", account=None, actor_email="", details={"known": False})


def password_reset_done(ctx):
    from statuspool.accounts.password_reset import password_reset_complete

    password_reset_complete(
        user=ctx.alice, new_password="an entirely new phrase 77", actor=_as(ctx.alice)
    )
    return Case("user", str(ctx.alice.pk), secrets=("an entirely new phrase 77",))


def apikey_leaked_revoked(ctx):
    from apikeys.services import apikey_revoke_leaked

    scanner = Actor(kind=ActorKind.SYSTEM, label="GitHub secret scanning", ip=IP, user_agent=AGENT)
    apikey_revoke_leaked(key=ctx.key, actor=scanner, url="https://github.com/o/r/blob/x/a.env")
    return Case(
        "apikey",
        str(ctx.key.pk),
        actor_kind=ActorKind.SYSTEM,
        actor_email="",
        details={"url": "https://github.com/o/r/blob/x/a.env"},
        secrets=(ctx.raw,),
    )


def oauth_leaked_revoked(ctx):
    from oauthapps.services import authorization_revoke_leaked

    authorization = _authorization(ctx)
    scanner = Actor(kind=ActorKind.SYSTEM, label="GitHub secret scanning", ip=IP, user_agent=AGENT)
    authorization_revoke_leaked(
        authorization=authorization,
        actor=scanner,
        url="https://github.com/o/r/blob/x/a.env",
        token_kind="access token",
    )
    return Case(
        "authorization",
        str(authorization.pk),
        actor_kind=ActorKind.SYSTEM,
        actor_email="",
        details={"url": "https://github.com/o/r/blob/x/a.env", "token_kind": "access token"},
    )


def code_replay(ctx):
    from datetime import timedelta

    from django.utils import timezone

    from oauthapps.models import Grant
    from oauthapps.services import code_replay_detected

    authorization = _authorization(ctx)
    grant = Grant.objects.create(
        application=authorization.application,
        user=ctx.alice,
        authorization=authorization,
        code="c" * 40,
        expires=timezone.now() + timedelta(seconds=60),
        redirect_uri="https://hooks.example.com/callback",
        scope="monitors:read",
        redeemed_at=timezone.now(),
    )
    app_actor = Actor(kind=ActorKind.OAUTH_APP, label="PagerDuty Sync", ip=IP, user_agent=AGENT)
    code_replay_detected(grant=grant, actor=app_actor)
    return Case(
        "authorization",
        str(authorization.pk),
        actor_kind=ActorKind.OAUTH_APP,
        actor_email="",
        details={"grant_id": grant.pk},
        secrets=("c" * 40,),
    )


def token_revoked(ctx):
    from oauthapps.models import RefreshToken
    from oauthapps.services import token_revoked_by_client

    authorization = _authorization(ctx)
    token = RefreshToken.objects.create(
        user=ctx.alice,
        token="sp_ort_" + "q" * 40,
        application=authorization.application,
        authorization=authorization,
    )
    app_actor = Actor(kind=ActorKind.OAUTH_APP, label="PagerDuty Sync", ip=IP, user_agent=AGENT)
    token_revoked_by_client(token=token, token_type="refresh_token", actor=app_actor)
    return Case(
        "authorization",
        str(authorization.pk),
        actor_kind=ActorKind.OAUTH_APP,
        actor_email="",
        details={"token_type": "refresh_token"},
        secrets=("sp_ort_" + "q" * 40,),
    )


def _dave_membership(ctx, role="member"):
    from statuspool.accounts.models import Membership
    from tests.conftest import make_user

    dave = make_user("dave@acme.test")
    return Membership.objects.create(user=dave, account=ctx.account, role=role)


def admin_member_added(ctx):
    from statuspool.accounts.models import Membership
    from statuspool.accounts.services import membership_save
    from tests.conftest import make_user

    dave = make_user("dave@acme.test")
    membership = Membership(user=dave, account=ctx.account, role="member")
    membership_save(membership=membership, actor=ctx.actor)
    return Case("user", str(dave.pk), details={"role": "member", "via": "admin"})


def admin_role_changed(ctx):
    from statuspool.accounts.services import membership_save

    membership = _dave_membership(ctx)
    membership.role = "admin"
    membership_save(membership=membership, actor=ctx.actor)
    return Case(
        "user",
        str(membership.user_id),
        details={"before": "member", "after": "admin", "via": "admin"},
    )


def admin_member_removed(ctx):
    from statuspool.accounts.services import membership_delete

    membership = _dave_membership(ctx)
    membership_delete(membership=membership, actor=ctx.actor)
    return Case("user", str(membership.user_id), details={"role": "member", "via": "admin"})


def _as(user):
    request = RequestFactory().get("/", REMOTE_ADDR=IP, HTTP_USER_AGENT=AGENT)
    request.user = user
    return Actor.from_request(request)


ACTIONS = {
    "auth.signup": signup,
    "account.created": account_created,
    "auth.login": login_ok,
    "auth.login_failed": login_failed_known,
    "auth.2fa_enrolled": twofactor_enrolled,
    "auth.2fa_disabled": twofactor_disabled,
    "auth.recovery_codes_regenerated": recovery_regenerated,
    "auth.sudo_failed": sudo_failed,
    "auth.password_changed": password_changed,
    "auth.security_notifications_changed": security_notifications_changed,
    "team.member_added": admin_member_added,
    "apikey.created": apikey_created,
    "apikey.rotated": apikey_rotated,
    "apikey.replaced": apikey_replaced,
    "apikey.details_changed": apikey_details_changed,
    "apikey.expired": apikey_expired,
    "apikey.policy_changed": apikey_policy_changed,
    "apikey.revoked": apikey_revoked,
    "apikey.suspended": apikey_suspended,
    "apikey.reactivated": apikey_reactivated,
    "apikey.flagged_stale": apikey_flagged_stale,
    "apikey.kept_active": apikey_kept_active,
    "apikey.scopes_changed": apikey_scopes_changed,
    "apikey.allowlist_changed": apikey_allowlist_changed,
    "apikey.usage_alerts_changed": apikey_usage_alerts_changed,
    "apikey.leaked_revoked": apikey_leaked_revoked,
    "oauth.application_registered": oauth_registered,
    "oauth.application_updated": oauth_updated,
    "oauth.secret_reset": oauth_secret_reset,
    "oauth.application_deleted": oauth_deleted,
    "oauth.application_logo_changed": oauth_logo_changed,
    "oauth.grant_approved": grant_approved,
    "oauth.grant_denied": grant_denied,
    "oauth.grant_revoked": grant_revoked,
    "oauth.refresh_reuse_detected": refresh_reuse,
    "auth.password_reset_requested": password_reset_requested,
    "auth.password_reset": password_reset_done,
    "team.invited": team_invited,
    "team.invitation_resent": team_invitation_resent,
    "team.invitation_revoked": team_invitation_revoked,
    "team.joined": team_joined,
    "team.role_changed": team_role_changed,
    "team.member_removed": team_member_removed,
    "team.ownership_transferred": team_ownership_transferred,
    "account.require_2fa_changed": account_require_2fa_changed,
    "account.billing_email_changed": account_billing_email_changed,
    "account.plan_changed": account_plan_changed,
    "oauth.leaked_revoked": oauth_leaked_revoked,
    "oauth.code_replay_detected": code_replay,
    "oauth.token_revoked": token_revoked,
}
CASES = [
    *ACTIONS.items(),
    ("auth.login_failed", login_failed_unknown),
    ("auth.password_reset_requested", password_reset_requested_unknown),
    # The same actions when an operator changes a membership in the admin.
    ("team.role_changed", admin_role_changed),
    ("team.member_removed", admin_member_removed),
]


def test_the_table_covers_every_documented_action():
    from audit.actions import ACTIONS as DESCRIBED

    assert set(ACTIONS) == set(DESCRIBED)


@pytest.mark.parametrize(("action", "perform"), CASES, ids=[f"{a}:{f.__name__}" for a, f in CASES])
def test_action_records_exactly_one_event(
    action, perform, ctx, client, django_capture_on_commit_callbacks
):
    existing = set(AuditEvent.objects.values_list("id", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        expected = perform(ctx, client) if action == "auth.sudo_failed" else perform(ctx)
    new = AuditEvent.objects.exclude(id__in=existing)
    events = list(new.filter(action=action))
    assert len(events) == 1, [e.action for e in new]
    event = events[0]
    account = ctx.account if expected.account == "A" else expected.account
    assert event.account_id == (account.pk if account is not None else None)
    assert event.actor_kind == expected.actor_kind
    assert event.actor_email == expected.actor_email
    if expected.actor_kind != ActorKind.SYSTEM:
        assert (event.ip, event.user_agent) == (IP, AGENT)
    assert event.target_type == expected.target_type
    assert event.target_id == expected.target_id
    assert expected.details.items() <= event.details.items()
    stored = json.dumps(
        {field.name: str(getattr(event, field.attname)) for field in AuditEvent._meta.fields}
    )
    for secret in expected.secrets:
        assert secret not in stored
    assert verify_all() == []


def test_an_api_call_is_attributed_to_the_key(client, ctx, django_capture_on_commit_callbacks):
    """A /v2 write audited by another engineer's endpoint carries the key as its actor."""
    from apikeys.services import apikey_create

    admin, raw = apikey_create(
        account=ctx.account, name="admin-bot", scopes=["teams:admin"], actor=ctx.actor
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/v2/api-keys/{ctx.key.public_id}/revoke",
            {"reason": "compromised"},
            content_type="application/json",
            **bearer(raw),
        )
    assert response.status_code in (200, 204), response.content
    event = AuditEvent.objects.get(action="apikey.revoked")
    assert event.actor_kind == ActorKind.API_KEY
    assert admin.public_id in event.actor_label
    assert event.ip == "127.0.0.1" and event.user_agent == "incident-cli/1.0"
