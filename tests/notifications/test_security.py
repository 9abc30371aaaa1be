"""Security notifications: who gets them, what they say, opt-outs, and the transaction they ride."""

import html

import pytest
from django.core import mail
from django.db import transaction
from django.test import RequestFactory

from audit.models import AuditEvent
from audit.services import Actor
from statuspool.accounts.models import Membership, Role
from statuspool.notifications.models import OutboxEmail, SecurityNotificationOptOut
from statuspool.notifications.security import KINDS, format_when, security_notify
from statuspool.notifications.services import outbox_sweep
from tests.conftest import login, make_user

pytestmark = pytest.mark.django_db

IP = "81.2.69.142"  # a public address the bundled GeoIP data places in GB


def _actor(user, ip=IP):
    request = RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT="pytest")
    request.user = user
    return Actor.from_request(request)


def _notices():
    return OutboxEmail.objects.filter(template="security_notice").order_by("id")


def _key_context():
    return {
        "key_name": "deploy",
        "key_display_id": "sp_live_abcd1234…",
        "scopes": "monitors:read",
        "key_url": "http://testserver/settings/api-access/abcd1234/",
    }


def test_every_admin_gets_their_own_email_and_members_do_not(account_a, alice, bob, mallory):
    with transaction.atomic():
        security_notify(
            account=account_a, kind="apikey.created", actor=_actor(bob), context=_key_context()
        )
    rows = list(_notices())
    assert sorted(row.to[0] for row in rows) == ["alice@acme.test", "bob@acme.test"]
    assert all(len(row.to) == 1 for row in rows)  # nobody sees the other admins' addresses
    assert rows[0].subject == "[StatusPool] New API key “deploy” in Acme Monitoring"
    context = rows[0].context
    assert context["who"] == "bob@acme.test"
    assert context["where"].startswith(IP)
    assert "UTC" in context["when"]
    assert "bob@acme.test created the API key “deploy” (sp_live_abcd1234…)" in context["summary"]
    assert "revoke it" in context["advice"]


def test_nothing_is_sent_when_the_change_rolls_back(account_a, alice):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        security_notify(account=account_a, kind="apikey.created", context=_key_context())
        raise Boom
    assert not _notices().exists()


def test_opt_out_is_respected_except_about_own_credentials(account_a, alice, bob):
    SecurityNotificationOptOut.objects.create(user=alice, kind="apikey.revoked")
    SecurityNotificationOptOut.objects.create(user=bob, kind="apikey.revoked")
    with transaction.atomic():
        security_notify(
            account=account_a,
            kind="apikey.revoked",
            subject_user=bob,  # Bob's own key: he is told whatever he chose
            context={**_key_context(), "reason_sentence": "No reason was given."},
        )
    rows = list(_notices())
    assert [row.to for row in rows] == [["bob@acme.test"]]
    assert rows[0].context["about_you"] is True


def test_the_subject_user_is_told_even_if_not_an_admin(account_a, alice, mallory):
    with transaction.atomic():
        security_notify(
            account=account_a,
            kind="oauth.grant_approved",
            actor=_actor(mallory),
            subject_user=mallory,
            context={"app_name": "Grafana", "scopes": "monitors:read"},
        )
    assert sorted(row.to[0] for row in _notices()) == ["alice@acme.test", "mallory@acme.test"]


def test_inactive_admins_are_skipped(account_a, alice, bob):
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    with transaction.atomic():
        security_notify(account=account_a, kind="apikey.created", context=_key_context())
    assert [row.to for row in _notices()] == [["alice@acme.test"]]


def test_unknown_kind_and_missing_context_fail_loudly(account_a, alice):
    with pytest.raises(ValueError, match="unknown security notification"):
        security_notify(account=account_a, kind="apikey.teleported")
    with pytest.raises(KeyError), transaction.atomic():
        security_notify(account=account_a, kind="apikey.created", context={})
    assert not _notices().exists()


def test_automatic_events_say_so(account_a, alice):
    with transaction.atomic():
        security_notify(
            account=account_a,
            kind="apikey.suspended",
            actor=Actor.system(label="job"),
            context={**_key_context(), "reason": "Not used for 90 days"},
        )
    context = _notices().get().context
    assert context["who"] == "StatusPool (automatic)"
    assert context["where"].startswith("no network address")


def test_time_is_given_in_utc_and_the_readers_zone():
    from datetime import UTC, datetime

    class Reader:
        time_zone = "Europe/Paris"

    moment = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert format_when(moment, Reader()) == (
        "2026-12-01 23:30 UTC (2026-12-02 00:30 CET, Europe/Paris)"
    )
    assert format_when(moment, object()) == "2026-12-01 23:30 UTC"

    class Broken:
        time_zone = "Mars/Olympus"

    assert format_when(moment, Broken()) == "2026-12-01 23:30 UTC"


def test_sent_email_reads_well(account_a, alice, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        security_notify(
            account=account_a, kind="apikey.created", actor=_actor(alice), context=_key_context()
        )
    outbox_sweep()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject.startswith("[StatusPool] ")
    for text in ("Who:   alice@acme.test", "When:  ", "Where: 81.2.69.142", "Settings → Security"):
        assert text in message.body
    html = message.alternatives[0][0]
    assert "alice@acme.test" in html and "<script" not in html


def test_settings_page_lists_every_kind_and_saves_opt_outs(client, alice, bob):
    login(client, alice)
    page = client.get("/settings/security/notifications/")
    assert page.status_code == 200
    for kind in KINDS.values():
        assert html.escape(kind.label) in page.content.decode()
    optional = [kind for kind, entry in KINDS.items() if entry.optional]
    keep = [kind for kind in optional if kind != "apikey.created"]
    response = client.post("/settings/security/notifications/", {"kinds": keep})
    assert response.status_code == 302
    assert list(
        SecurityNotificationOptOut.objects.filter(user=alice).values_list("kind", flat=True)
    ) == ["apikey.created"]
    assert not SecurityNotificationOptOut.objects.filter(user=bob).exists()
    event = AuditEvent.objects.get(action="auth.security_notifications_changed")
    assert event.details == {"turned_on": [], "turned_off": ["apikey.created"]}
    # Turning it back on removes the opt-out and is audited too.
    client.post("/settings/security/notifications/", {"kinds": optional})
    assert not SecurityNotificationOptOut.objects.filter(user=alice).exists()
    assert AuditEvent.objects.filter(action="auth.security_notifications_changed").count() == 2


def test_settings_page_needs_login_and_csrf(client, alice):
    assert client.get("/settings/security/notifications/").status_code == 302
    from django.test import Client

    strict = login(Client(enforce_csrf_checks=True), alice)
    response = strict.post("/settings/security/notifications/", {"kinds": []})
    assert response.status_code == 403
    assert not SecurityNotificationOptOut.objects.filter(user=alice).exists()


# --- the events that raise them ---------------------------------------------------------------
def test_key_events_notify(account_a, alice, bob, django_capture_on_commit_callbacks):
    from apikeys.services import apikey_create, apikey_revoke, apikey_update_scopes

    actor = _actor(bob)
    key, _ = apikey_create(
        account=account_a, name="deploy", scopes=["monitors:read"], actor=actor, created_by=bob
    )
    apikey_update_scopes(key=key, scopes=["monitors:read", "alerts:write"], actor=actor)
    apikey_update_scopes(key=key, scopes=["alerts:write"], actor=actor)  # narrowing: no email
    apikey_revoke(key=key, actor=actor, reason="compromised", revoked_by=bob)
    subjects = [row.subject for row in _notices().filter(to=["alice@acme.test"])]
    assert subjects == [
        "[StatusPool] New API key “deploy” in Acme Monitoring",
        "[StatusPool] API key “deploy” was given more access in Acme Monitoring",
        "[StatusPool] API key “deploy” was revoked in Acme Monitoring",
    ]
    revoked = _notices().filter(to=["alice@acme.test"]).last()
    assert "Reason given: “compromised”." in revoked.context["summary"]


def test_the_default_key_of_a_new_account_sends_nothing(db):
    from statuspool.onboarding.services import account_create

    account_create(
        name="Newco",
        owner_email="founder@newco.test",
        owner_password="x" * 20 + "Yz1!",
        actor=Actor.system(label="test"),
    )
    assert not _notices().exists()


def test_2fa_disabled_for_an_admin_notifies_every_account_they_administer(
    account_a, account_b, alice, bob, charlie
):
    from statuspool.accounts.services import twofactor_disable

    Membership.objects.create(user=bob, account=account_b, role=Role.ADMIN)
    twofactor_disable(user=bob, actor=_actor(bob))
    recipients = sorted(row.to[0] for row in _notices())
    assert recipients == ["alice@acme.test", "bob@acme.test", "bob@acme.test", "charlie@bravo.test"]


def test_2fa_disabled_by_a_member_notifies_nobody(account_a, alice, mallory):
    from statuspool.accounts.services import twofactor_disable

    twofactor_disable(user=mallory, actor=_actor(mallory))
    assert not _notices().exists()


def test_oauth_events_notify(account_a, alice, bob):
    from oauthapps.services import (
        application_delete,
        application_register,
        application_reset_secret,
        authorization_approve,
        authorization_revoke,
    )

    actor = _actor(alice)
    application, _ = application_register(
        account=account_a,
        name="Grafana",
        description="",
        redirect_uris=["https://grafana.example.com/cb"],
        actor=actor,
        created_by=alice,
    )
    application_reset_secret(application=application, actor=actor)
    grant = authorization_approve(
        user=bob,
        application=application,
        account=account_a,
        scopes=["monitors:read"],
        actor=_actor(bob),
    )
    authorization_revoke(authorization=grant, actor=actor)
    application_delete(application=application, actor=actor)
    subjects = [row.subject for row in _notices().filter(to=["bob@acme.test"])]
    assert subjects == [
        "[StatusPool] New OAuth application “Grafana” in Acme Monitoring",
        "[StatusPool] Client secret of “Grafana” was reset in Acme Monitoring",
        "[StatusPool] “Grafana” was given access to Acme Monitoring",
        "[StatusPool] Access of “Grafana” to Acme Monitoring was revoked",
        "[StatusPool] OAuth application “Grafana” was deleted in Acme Monitoring",
    ]


def test_a_new_user_without_any_admin_role_sees_an_explanation(client, db):
    user = make_user("solo@nowhere.test")
    login(client, user)
    page = client.get("/settings/security/notifications/").content.decode()
    assert "You are not a team admin of any account" in page


def test_each_reader_gets_the_time_in_their_own_zone(account_a, alice, bob):
    alice.time_zone = "Asia/Tokyo"
    alice.save(update_fields=["time_zone"])
    with transaction.atomic():
        security_notify(account=account_a, kind="apikey.created", context=_key_context())
    when = {row.to[0]: row.context["when"] for row in _notices()}
    assert "Asia/Tokyo" in when["alice@acme.test"] and " UTC (" in when["alice@acme.test"]
    assert when["bob@acme.test"].endswith(" UTC")  # no zone chosen: UTC only
