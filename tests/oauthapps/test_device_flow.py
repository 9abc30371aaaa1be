"""Device authorization grant (RFC 8628): the CLI's requests, the /device pages, the polling."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from oauthapps.models import AccessToken, DeviceGrant, RefreshToken
from tests.conftest import login
from tests.oauthapps.device_helpers import allow_next_poll, approve, poll, start

USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


def test_cli_registration_is_public_without_secret_or_redirect(cli_app):
    assert cli_app.client_type == "public"
    assert cli_app.authorization_grant_type == "urn:ietf:params:oauth:grant-type:device_code"
    assert cli_app.client_secret == "" and cli_app.redirect_uris == ""


def test_device_authorization_answers_codes_and_stores_only_digests(client, cli_app):
    response = start(client, cli_app)
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert USER_CODE.match(body["user_code"])
    assert body["verification_uri"] == "http://testserver/device"
    assert body["verification_uri_complete"] == (
        f"http://testserver/device?user_code={body['user_code']}"
    )
    assert (body["expires_in"], body["interval"]) == (900, 5)
    grant = DeviceGrant.objects.get()
    assert grant.application == cli_app and grant.scope == "monitors:read alerts:read"
    assert grant.device_code.startswith("sha256$") and body["device_code"] not in grant.device_code
    raw = body["user_code"].replace("-", "")
    assert raw not in grant.user_code and body["user_code"] not in grant.user_code
    assert grant.status == DeviceGrant.AUTHORIZATION_PENDING and grant.user is None


def test_web_application_cannot_use_the_device_flow(client, app):
    response = start(client, app)
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client")
    assert not DeviceGrant.objects.exists()
    polled = poll(client, app, "whatever")
    assert polled.status_code in (400, 401) and not AccessToken.objects.exists()


def test_unknown_client_and_unknown_scope_are_refused(client, cli_app):
    unknown = start(client, cli_app, client_id="nope")
    assert unknown.status_code in (400, 401)
    assert unknown.json()["error"] in ("invalid_client", "invalid_request")
    bad_scope = start(client, cli_app, scope="monitors:read billing:everything")
    assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"
    assert not DeviceGrant.objects.exists()


def test_scope_ceiling_applies_to_the_device_flow(client, cli_app):
    cli_app.allowed_scopes = ["monitors:read"]
    cli_app.save()
    assert start(client, cli_app, scope="alerts:read").json()["error"] == "invalid_scope"
    assert start(client, cli_app, scope="monitors:read").status_code == 200


def test_full_device_flow_pending_slow_down_approve_token_single_use(
    client, cli_app, alice, account_a
):
    body = start(client, cli_app).json()
    first = poll(client, cli_app, body["device_code"])
    assert first.status_code == 400 and first.json()["error"] == "authorization_pending"
    too_fast = poll(client, cli_app, body["device_code"])
    assert too_fast.json()["error"] == "slow_down"
    assert DeviceGrant.objects.get().interval == 10  # +5 seconds for this and later polls

    person = login(Client(), alice)
    typed = body["user_code"].lower().replace("-", " ")  # case and separators do not matter
    entered = person.post("/device", {"user_code": typed})
    assert entered.status_code == 302
    consent = person.get(entered["Location"])
    assert consent.status_code == 200
    assert b"Authorize statuspool-cli" in consent.content
    assert b"signs in on a device" in consent.content
    done = person.post(entered["Location"], {"account": account_a.pk, "decision": "approve"})
    assert done.status_code == 200 and b"Device connected" in done.content
    grant = DeviceGrant.objects.get()
    assert grant.status == DeviceGrant.AUTHORIZED and grant.user == alice
    event = AuditEvent.objects.get(action="oauth.grant_approved")
    assert event.details["flow"] == "device" and event.details["client_id"] == cli_app.client_id
    assert body["device_code"] not in str(event.details) and body["user_code"] not in str(
        event.details
    )

    allow_next_poll()
    issued = poll(client, cli_app, body["device_code"])
    assert issued.status_code == 200, issued.content
    tokens = issued.json()
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "monitors:read alerts:read"
    assert tokens["access_token"].startswith("sp_oat_")
    assert tokens["refresh_token"].startswith("sp_ort_")
    monitors = client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert monitors.status_code == 200
    token = AccessToken.objects.get()
    assert token.authorization.account == account_a and token.user == alice
    assert DeviceGrant.objects.get().redeemed_at is not None

    allow_next_poll()
    again = poll(client, cli_app, body["device_code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 1
    refreshed = client.post(
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": cli_app.client_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.content
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 1


def test_denied_device_gets_access_denied(client, cli_app, alice, account_a):
    body = start(client, cli_app).json()
    done = approve(login(Client(), alice), body["user_code"], account_a, decision="deny")
    assert b"Device not connected" in done.content
    assert DeviceGrant.objects.get().status == DeviceGrant.DENIED
    assert AuditEvent.objects.get(action="oauth.grant_denied").details["flow"] == "device"
    denied = poll(client, cli_app, body["device_code"])
    assert denied.status_code == 400 and denied.json()["error"] == "access_denied"
    assert not AccessToken.objects.exists()


def test_expired_device_code_gets_expired_token(client, cli_app, alice):
    body = start(client, cli_app).json()
    DeviceGrant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    expired = poll(client, cli_app, body["device_code"])
    assert expired.status_code == 400 and expired.json()["error"] == "expired_token"
    assert DeviceGrant.objects.get().status == DeviceGrant.EXPIRED
    entered = login(Client(), alice).post("/device", {"user_code": body["user_code"]})
    assert entered.status_code == 400  # the person cannot approve an expired code either


def test_unknown_device_code_is_invalid_grant(client, cli_app):
    response = poll(client, cli_app, "not-a-device-code")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_device_page_needs_login(client):
    response = client.get("/device?user_code=WDJB-MJHT")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_user_code_is_single_use_across_people(client, cli_app, alice, charlie):
    body = start(client, cli_app).json()
    first = login(Client(), alice).post("/device", {"user_code": body["user_code"]})
    assert first.status_code == 302
    other = login(Client(), charlie)
    second = other.post("/device", {"user_code": body["user_code"]})
    assert second.status_code == 400 and b"not valid" in second.content
    assert other.get(first["Location"]).status_code == 404  # alice's consent is not charlie's
    assert DeviceGrant.objects.get().user == alice


def test_wrong_user_codes_are_rate_limited(client, cli_app, alice, settings):
    settings.OAUTH_DEVICE_USER_CODE_RATE = "3/15m"
    body = start(client, cli_app).json()
    person = login(Client(), alice)
    for wrong in ("BBBB-BBBB", "CCCC-CCCC"):
        assert person.post("/device", {"user_code": wrong}).status_code == 400
    third = person.post("/device", {"user_code": "DDDD-DDDD"})
    assert third.status_code == 429 and b"Too many wrong codes" in third.content
    locked = person.post("/device", {"user_code": body["user_code"]})
    assert locked.status_code == 429 and b"Too many wrong codes" in locked.content
    assert DeviceGrant.objects.get().user is None  # the right code was not even looked at


def test_member_cannot_grant_write_scopes_to_a_device(client, cli_app, account_a):
    from statuspool.accounts.models import Membership, Role, User

    member = User.objects.create_user("member@acme.test", "x" * 20)
    Membership.objects.create(user=member, account=account_a, role=Role.MEMBER)
    body = start(client, cli_app, scope="monitors:write").json()
    person = login(Client(), member)
    entered = person.post("/device", {"user_code": body["user_code"]})
    refused = person.post(entered["Location"], {"account": account_a.pk, "decision": "approve"})
    assert refused.status_code == 403
    assert DeviceGrant.objects.get().status == DeviceGrant.AUTHORIZATION_PENDING


def test_device_authorization_is_limited_per_address(client, cli_app, settings):
    settings.OAUTH_DEVICE_AUTHORIZATION_RATE = "2/10m"
    assert start(client, cli_app).status_code == 200
    limited = start(client, cli_app)
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert limited.json()["error"] == "slow_down"
    assert DeviceGrant.objects.count() == 1


def test_public_client_has_no_secret_to_reset(cli_app, alice):
    from django.urls import reverse

    person = login(Client(), alice)
    url = reverse("oauthapps:application_reset_secret", args=[cli_app.pk])
    assert person.get(url).status_code == 404
    cli_app.refresh_from_db()
    assert cli_app.client_secret == ""
