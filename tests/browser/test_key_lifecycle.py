"""Key lifecycle II in Chromium (issue 14): create with an expiry → badge → clock moved → 401
key_expired → reminder emails sent; Replace at the key limit; a signed leak report revokes a key
and the owner's email arrives; the security-notification settings page."""

import base64
import json
from datetime import timedelta

import pytest
import requests
import time_machine
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from apikeys.expiry import apikeys_expire
from apikeys.models import ApiKey, Status
from apikeys.services import apikey_create
from audit.models import AuditEvent
from audit.services import Actor
from statuspool.notifications.services import outbox_sweep
from tests.browser.helpers import fill_sudo, v2

pytestmark = pytest.mark.django_db(transaction=True)


def _subjects_to(address):
    return [message.subject for message in mail.outbox if address in message.to]


def test_expiry_badge_refusal_and_reminders(
    live_server, logged_in_page, screenshot, alice, account_a
):
    page = logged_in_page(alice)
    page.goto("/settings/api-access/new/")
    page.fill("#id_name", "short-lived")
    page.fill("#id_description", "Nightly export job on build-01")
    page.get_by_label("monitors:read").check()
    page.select_option("#id_expires", "30d")
    fill_sudo(page, alice)
    screenshot("lifecycle-create-with-expiry")
    page.get_by_role("button", name="Create API Key").click()
    raw = page.locator("#new-key").inner_text().strip()
    expect(page.get_by_text("expires ")).to_be_visible()
    assert v2(live_server, raw).status_code == 200
    key = ApiKey.objects.get(name="short-lived")
    created = key.created_at

    # 25 days later: the badge shows, the 7-day reminder goes out.
    with time_machine.travel(created + timedelta(days=25), tick=True):
        logged_in_page(alice)  # the first session has expired by then
        page.goto("/settings/api-access/")
        badge = page.locator(".badge-expiring")
        expect(badge).to_contain_text("Expires in 4")
        screenshot("lifecycle-expiry-badge")
        apikeys_expire()
        page.goto(f"/settings/api-access/{key.public_id}/")
        expect(page.get_by_text("Replace it before then")).to_be_visible()
        expect(page.get_by_text("Nightly export job on build-01")).to_be_visible()
        screenshot("lifecycle-expiring-detail")
    with time_machine.travel(created + timedelta(days=29, hours=1), tick=True):
        apikeys_expire()

    # After the date: refused with key_expired, recorded once, the admins told.
    with time_machine.travel(created + timedelta(days=30, minutes=1), tick=True):
        refused = v2(live_server, raw)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "key_expired"
        apikeys_expire()
        logged_in_page(alice)
        page.goto(f"/settings/api-access/{key.public_id}/")
        expect(page.get_by_text("401 key_expired")).to_be_visible()
        screenshot("lifecycle-expired-detail")
    outbox_sweep(now=timezone.now() + timedelta(days=31))
    subjects = _subjects_to("alice@acme.test")
    assert "[StatusPool] API key “short-lived” expires in 7 days" in subjects
    assert "[StatusPool] API key “short-lived” expires in 1 day" in subjects
    assert "[StatusPool] API key “short-lived” expired in Acme Monitoring" in subjects
    assert AuditEvent.objects.filter(action="apikey.expired").count() == 1


def test_replace_at_the_limit(live_server, logged_in_page, screenshot, alice, account_a):
    keys = [
        apikey_create(
            account=account_a,
            name=name,
            scopes=["monitors:read"],
            actor=Actor.system("t"),
            created_by=alice,
        )
        for name in ("Default key", "grafana", "ci", "exporter")
    ]
    old, old_raw = keys[1]
    page = logged_in_page(alice)
    page.goto("/settings/api-access/")
    expect(page.get_by_role("button", name="Create API Key")).to_be_disabled()
    expect(page.get_by_text("choose “Replace”")).to_be_visible()
    screenshot("lifecycle-at-the-limit")

    page.get_by_role("link", name="grafana").click()
    page.get_by_role("link", name="Replace").click()
    page.fill("#id_name", "grafana-2026")
    page.get_by_label("Keep the old key working for 1 hour").check()
    fill_sudo(page, alice)
    screenshot("lifecycle-replace-form")
    page.get_by_role("button", name="Replace key").click()
    new_raw = page.locator("#new-key").inner_text().strip()
    expect(page.get_by_role("heading", name="Key replaced")).to_be_visible()
    assert v2(live_server, new_raw).status_code == 200
    assert v2(live_server, old_raw).status_code == 200  # the overlap
    page.get_by_role("link", name="I have stored the key — continue").click()

    page.goto("/settings/api-access/")
    expect(page.get_by_text("5 keys are listed but 4 count toward the limit of 4")).to_be_visible()
    screenshot("lifecycle-replaced-list")

    # Revoking the replacement offers (checked) to end the old key's grace too.
    new = ApiKey.objects.get(name="grafana-2026")
    page.goto(f"/settings/api-access/{new.public_id}/revoke/")
    checkbox = page.get_by_label("Also revoke grafana")
    expect(checkbox).to_be_checked()
    screenshot("lifecycle-revoke-with-predecessor")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke key").click()
    page.wait_for_selector(".badge-revoked")
    old.refresh_from_db()
    assert old.status == Status.REVOKED
    assert v2(live_server, old_raw).status_code == 401


def test_signed_leak_report_revokes_and_emails_the_owner(
    live_server, logged_in_page, screenshot, alice, account_a, settings
):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    settings.LEAK_REPORT_PUBLIC_KEYS = {"test-signing-key": der}
    key, raw = apikey_create(
        account=account_a,
        name="leaky",
        scopes=["monitors:read"],
        actor=Actor.system("t"),
        created_by=alice,
    )
    url = "https://github.com/octo/demo/blob/main/.env"
    body = json.dumps(
        [{"token": raw, "type": "statuspool_api_key", "url": url, "source": "content"}]
    ).encode()
    signature = base64.b64encode(private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    response = requests.post(
        f"{live_server.url}/v2/leaks",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": "test-signing-key",
            "Github-Public-Key-Signature": signature,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()[0]["label"] == "true_positive"
    assert v2(live_server, raw).status_code == 401
    outbox_sweep()
    leak_mail = [m for m in mail.outbox if "alice@acme.test" in m.to and "leaked" in m.subject]
    assert leak_mail and url in leak_mail[0].body and raw not in leak_mail[0].body

    page = logged_in_page(alice)
    page.goto(f"/settings/api-access/{key.public_id}/")
    expect(page.get_by_text(f"Leaked: found at {url}")).to_be_visible()
    screenshot("lifecycle-leaked-key")
    page.goto("/settings/audit-log/")
    expect(page.locator("table").get_by_text("API key revoked after a leak report")).to_be_visible()


def test_security_notification_settings(live_server, logged_in_page, screenshot, alice, account_a):
    page = logged_in_page(alice)
    page.goto("/settings/security/")
    page.get_by_role("link", name="Choose security notifications").click()
    expect(page.get_by_role("heading", name="Security notifications")).to_be_visible()
    expect(page.get_by_text("(always sent)")).to_be_visible()
    page.get_by_label("An API key was created").uncheck()
    screenshot("lifecycle-security-notifications")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Security notifications saved.")).to_be_visible()
    expect(page.get_by_label("An API key was created")).not_to_be_checked()
    expect(page.get_by_label("An API key was revoked")).to_be_checked()


def test_rename_and_key_policy_pages(live_server, logged_in_page, screenshot, alice, account_a):
    account_a.plan = "enterprise"
    account_a.save(update_fields=["plan"])
    key, _ = apikey_create(
        account=account_a,
        name="legacy",
        scopes=["monitors:read"],
        actor=Actor.system("t"),
        created_by=alice,
    )
    page = logged_in_page(alice)
    page.goto(f"/settings/api-access/{key.public_id}/")
    page.get_by_role("link", name="Rename or describe").click()
    page.fill("#id_name", "legacy-exporter")
    page.fill("#id_description", "Old CSV exporter on build-02; owner: ops")
    screenshot("lifecycle-rename")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="legacy-exporter")).to_be_visible()
    expect(page.get_by_text("Old CSV exporter on build-02; owner: ops")).to_be_visible()

    page.goto("/settings/api-access/")
    page.get_by_role("link", name="Key policy").click()
    page.select_option("#id_max_lifetime_days", "90")
    page.get_by_label("Require an IP allowlist on new keys").check()
    fill_sudo(page, alice)
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("Key policy saved.")).to_be_visible()
    expect(page.get_by_text("never expires, no IP allowlist")).to_be_visible()
    screenshot("lifecycle-key-policy")

    page.goto("/settings/api-access/new/")
    expect(page.get_by_text("keys must expire within 90 days")).to_be_visible()
    page.fill("#id_name", "no-allowlist")
    page.get_by_label("monitors:read").check()
    fill_sudo(page, alice)
    page.get_by_role("button", name="Create API Key").click()
    expect(page.get_by_text("requires an IP allowlist on new keys")).to_be_visible()
    screenshot("lifecycle-create-refused-by-policy")
    assert not ApiKey.objects.filter(name="no-allowlist").exists()
