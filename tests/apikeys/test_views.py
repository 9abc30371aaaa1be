"""Settings → API Access screens: access rules, create flow, show once, detail and its actions."""

import logging
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apikeys.models import ApiKey, Status
from apikeys.replacement import apikey_rotate
from apikeys.services import apikey_revoke, apikey_suspend
from statuspool import api_key_format
from statuspool.accounts.models import Membership, Role
from tests.apikeys.helpers import events, sudo_data
from tests.conftest import login, make_user

LIST = reverse("apikeys:list")
CREATE = reverse("apikeys:create")
NEW_KEY = re.compile(r'<code id="new-key">(sp_live_[0-9A-Za-z]{40})</code>')


def url(name, key):
    return reverse(f"apikeys:{name}", args=[key.public_id])


def shown_key(response) -> str:
    match = NEW_KEY.search(response.content.decode())
    assert match, "the show-once page must carry the key in <code id='new-key'>"
    return match.group(1)


@pytest.fixture
def alice_key(make_key, alice):
    return make_key(name="alice-cli", created_by=alice)[0]


# --- Access rules -------------------------------------------------------------------------------
KEY_PAGES = ["detail", "rotate", "revoke", "reactivate", "scopes"]


@pytest.mark.django_db
class TestAccess:
    def test_anonymous_is_sent_to_login(self, client, alice_key):
        for path in [LIST, CREATE, url("detail", alice_key), url("rotate", alice_key)]:
            response = client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("accounts:login"))

    def test_member_gets_404_everywhere(self, client, mallory, alice_key):
        login(client, mallory)
        assert client.get(LIST).status_code == 404
        assert client.get(CREATE).status_code == 404
        for name in ["detail", "rotate", "revoke", "reactivate", "edit_scopes"]:
            assert client.get(url(name, alice_key)).status_code == 404
        response = client.post(url("revoke", alice_key), {"reason": "mine now"})
        assert response.status_code == 404
        alice_key.refresh_from_db()
        assert alice_key.status == Status.ACTIVE

    def test_other_account_owner_gets_404_on_alice_key(self, client, charlie, alice_key):
        login(client, charlie)
        for name in ["detail", "rotate", "revoke", "reactivate", "edit_scopes"]:
            assert client.get(url(name, alice_key)).status_code == 404
        for name, data in [
            ("revoke", {"reason": "x"}),
            ("keep_active", {}),
            ("edit_scopes", {"scopes": ["teams:admin"]}),
            ("rotate", sudo_data(charlie, expire_old_in="now")),
        ]:
            assert client.post(url(name, alice_key), data).status_code == 404
        alice_key.refresh_from_db()
        assert alice_key.status == Status.ACTIVE and alice_key.scopes == ["monitors:read"]
        assert ApiKey.objects.count() == 1
        response = client.get(LIST)
        assert response.status_code == 200 and alice_key.public_id not in response.content.decode()

    def test_admin_without_2fa_is_sent_to_enrollment(self, client, account_a):
        admin = make_user("no2fa@acme.test", with_2fa=False)
        Membership.objects.create(user=admin, account=account_a, role=Role.ADMIN)
        login(client, admin)
        response = client.get(LIST)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:twofactor_enroll"))

    def test_admin_bob_can_use_the_screens(self, client, bob, alice_key):
        login(client, bob)
        assert client.get(LIST).status_code == 200
        assert client.get(url("detail", alice_key)).status_code == 200

    def test_keep_active_is_post_only(self, client, alice, alice_key):
        login(client, alice)
        assert client.get(url("keep_active", alice_key)).status_code == 405


# --- List ---------------------------------------------------------------------------------------
@pytest.mark.django_db
class TestList:
    def test_empty_state(self, client, alice):
        login(client, alice)
        page = client.get(LIST).content.decode()
        assert "No active API keys" in page
        assert f'href="{CREATE}"' in page

    def test_columns_badges_and_revoked_section(self, client, alice, make_key, system_actor):
        login(client, alice)
        active, _ = make_key(
            name="prod-monitoring-cli", scopes=["monitors:read", "alerts:read"], created_by=alice
        )
        ApiKey.objects.filter(pk=active.pk).update(
            last_used_ip="198.51.100.7", last_used_country="DE", last_used_at=active.created_at
        )
        suspended, _ = make_key(name="old-job")
        apikey_suspend(key=suspended, actor=system_actor, reason="idle")
        rotating, _ = make_key(name="rotating")
        apikey_rotate(key=rotating, actor=system_actor, expire_old_in="7d")
        gone, _ = make_key(name="gone")
        apikey_revoke(key=gone, actor=system_actor, reason="compromised")
        # Long values may wrap at separators (<wbr>), never mid-word.
        page = client.get(LIST).content.decode().replace("<wbr>", "")
        assert "prod-monitoring-cli" in page and active.display_id in page
        assert '<span class="scope">alerts:read</span>' in page
        assert "by alice@acme.test" in page
        assert "198.51.100.7" in page and "(DE)" in page
        assert "badge-suspended" in page and "badge-active" in page
        assert "Stops working in 6" in page  # rotated out: "6 days, 23 hours" of grace left
        live, revoked = page.split("<details")
        assert "gone" not in live and "gone" in revoked and "compromised" in revoked
        assert "open" not in revoked.split(">")[0]  # collapsed by default
        assert "badge-revoked" in revoked
        # The rotated-out key's replacement is listed too, both named "rotating".
        assert page.count(">rotating</a>") == 2

    def test_create_disabled_at_limit(self, client, alice, make_key):
        for index in range(4):
            make_key(name=f"key-{index}")
        login(client, alice)
        page = client.get(LIST).content.decode()
        assert re.search(r"<button[^>]*disabled[^>]*>Create API Key</button>", page)
        assert "already has 4 keys" in page
        assert f'href="{CREATE}"' not in page

    def test_stale_and_rotation_badges(self, client, alice, make_key):
        from datetime import timedelta

        from django.utils import timezone

        key, _ = make_key(name="ancient")
        ApiKey.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(days=100))
        login(client, alice)
        page = client.get(LIST).content.decode()
        assert "badge-stale" in page and "Rotation recommended" in page

    def test_query_count_does_not_grow_with_keys(self, client, alice, make_key):
        login(client, alice)
        make_key(name="first", created_by=alice)
        client.get(LIST)  # warm the session
        with CaptureQueriesContext(connection) as one:
            client.get(LIST)
        for index in range(3):
            make_key(name=f"more-{index}", created_by=alice)
        with CaptureQueriesContext(connection) as four:
            client.get(LIST)
        assert len(four) == len(one)


# --- Create -------------------------------------------------------------------------------------
@pytest.mark.django_db
class TestCreate:
    def test_form_shows_scopes_with_documentation_sentences(self, client, alice):
        login(client, alice)
        page = client.get(CREATE).content.decode()
        assert 'placeholder="e.g. prod-monitoring-cli"' in page
        assert "List and view monitor status, uptime history, and incident logs." in page
        assert "Manage team members, roles, and billing details." in page
        assert 'name="password"' in page and 'name="otp_code"' in page
        assert "csrfmiddlewaretoken" in page
        assert ">Create API Key</button>" in page

    def test_create_shows_key_once(self, client, alice, caplog):
        login(client, alice)
        caplog.set_level(logging.DEBUG)
        data = sudo_data(alice, name="prod-monitoring-cli", scopes=["monitors:read", "alerts:read"])
        response = client.post(CREATE, data)
        assert response.status_code == 200
        raw = shown_key(response)
        assert api_key_format.is_well_formed(raw)
        assert "no-store" in response["Cache-Control"]
        page = response.content.decode()
        assert 'data-copy-target="new-key"' in page
        assert "Never embed keys in client-side JavaScript or public repositories" in page
        assert "Use environment variables or a secrets manager." in page
        assert "curl -X GET http://testserver/v2/monitors \\" in page
        assert '-H "Authorization: Bearer sp_live_' in page
        assert '-H "Content-Type: application/json"' in page
        key = ApiKey.objects.get()
        assert key.matches(raw) and key.created_by == alice
        assert key.name == "prod-monitoring-cli" and key.scopes == ["monitors:read", "alerts:read"]
        (event,) = events("apikey.created")
        assert event.actor == alice and event.actor_kind == "user"
        # Not in the session, not in a later page, not in any log line.
        assert raw not in str(dict(client.session))
        assert raw not in client.get(url("detail", key)).content.decode()
        assert raw not in client.get(LIST).content.decode()
        assert all(raw not in record.getMessage() for record in caplog.records)

    def test_duplicate_name_keeps_input(self, client, alice, make_key):
        make_key(name="deploy")
        login(client, alice)
        data = sudo_data(alice, name="deploy", scopes=["alerts:write"])
        data_code = data["otp_code"]
        response = client.post(CREATE, data)
        page = response.content.decode()
        assert response.status_code == 200
        assert "A key named “deploy” already exists" in page
        assert 'value="deploy"' in page
        assert re.search(r'value="alerts:write"[^>]*checked', page)
        assert "correct horse" not in page  # the password is never rendered back
        assert f'value="{data_code}"' not in page  # nor the code
        assert ApiKey.objects.count() == 1

    def test_no_scope_refused(self, client, alice):
        login(client, alice)
        response = client.post(CREATE, sudo_data(alice, name="nothing"))
        assert "Choose at least one scope." in response.content.decode()
        assert not ApiKey.objects.exists()

    def test_fifth_key_refused(self, client, alice, make_key):
        for index in range(4):
            make_key(name=f"key-{index}")
        login(client, alice)
        response = client.post(CREATE, sudo_data(alice, name="fifth", scopes=["monitors:read"]))
        assert response.status_code == 200
        assert "already has 4 keys" in response.content.decode()
        assert ApiKey.objects.count() == 4

    def test_wrong_password_refused_and_audited(self, client, alice):
        login(client, alice)
        data = sudo_data(alice, name="cli", scopes=["monitors:read"], password="wrong password")
        response = client.post(CREATE, data)
        page = response.content.decode()
        assert "That password is not correct." in page and 'value="cli"' in page
        assert f'value="{data["otp_code"]}"' not in page and "wrong password" not in page
        assert not ApiKey.objects.exists()
        (event,) = events("auth.sudo_failed")
        assert event.details["reason"] == "wrong_password"
        assert event.details["purpose"] == "apikey.create"
        assert "wrong password" not in str(event.details)

    def test_wrong_code_refused_and_audited(self, client, alice):
        login(client, alice)
        data = sudo_data(alice, name="cli", scopes=["monitors:read"])
        data["otp_code"] = "000000" if data["otp_code"] != "000000" else "111111"
        response = client.post(CREATE, data)
        assert response.status_code == 200 and not ApiKey.objects.exists()
        (event,) = events("auth.sudo_failed")
        assert event.details["purpose"] == "apikey.create"

    def test_invalid_form_does_not_spend_the_code(self, client, alice):
        login(client, alice)
        data = sudo_data(alice, name="", scopes=["monitors:read"])
        client.post(CREATE, data)
        data["name"] = "fixed"
        response = client.post(CREATE, data)  # same code, still unused
        assert api_key_format.is_well_formed(shown_key(response))


# --- Detail and actions -------------------------------------------------------------------------
@pytest.mark.django_db
class TestDetailAndActions:
    def test_detail_shows_everything(self, client, alice, alice_key, system_actor):
        new, _ = apikey_rotate(key=alice_key, actor=system_actor, expire_old_in="1h")
        login(client, alice)
        page = client.get(url("detail", alice_key)).content.decode()
        assert alice_key.display_id in page and "Replaced by" in page
        assert url("detail", new) in page
        assert f"/settings/audit-log/requests/?key={alice_key.public_id}" in page
        assert "Requests made with this key" in page
        new_page = client.get(url("detail", new)).content.decode()
        assert "Replaces" in new_page and url("detail", alice_key) in new_page

    def test_rotate_flow(self, client, alice, alice_key):
        login(client, alice)
        form_page = client.get(url("rotate", alice_key)).content.decode()
        assert 'value="7d"' in form_page and 'name="otp_code"' in form_page
        response = client.post(url("rotate", alice_key), sudo_data(alice, expire_old_in="24h"))
        raw = shown_key(response)
        assert "no-store" in response["Cache-Control"]
        alice_key.refresh_from_db()
        new = ApiKey.objects.get(rotated_from=alice_key)
        assert new.matches(raw) and new.created_by == alice
        assert alice_key.grace_ends_at is not None and alice_key.status == Status.ACTIVE
        assert "keeps working until" in response.content.decode()
        (event,) = events("apikey.rotated")
        assert event.actor == alice

    def test_rotate_needs_sudo(self, client, alice, alice_key):
        login(client, alice)
        data = sudo_data(alice, expire_old_in="now", password="nope nope nope")
        response = client.post(url("rotate", alice_key), data)
        assert response.status_code == 200 and NEW_KEY.search(response.content.decode()) is None
        alice_key.refresh_from_db()
        assert alice_key.status == Status.ACTIVE and ApiKey.objects.count() == 1
        assert events("auth.sudo_failed")[0].details["purpose"] == "apikey.rotate"

    def test_revoke_flow(self, client, alice, alice_key):
        login(client, alice)
        confirm = client.get(url("revoke", alice_key)).content.decode()
        assert "immediate and final" in confirm and 'data-confirm="' in confirm
        assert 'placeholder="e.g. compromised"' in confirm
        response = client.post(url("revoke", alice_key), {"reason": "compromised"}, follow=True)
        alice_key.refresh_from_db()
        assert alice_key.status == Status.REVOKED and alice_key.revoked_by == alice
        assert alice_key.revoked_reason == "compromised"
        page = response.content.decode()
        assert "was revoked" in page and "compromised" in page and "alice@acme.test" in page
        assert events("apikey.revoked")[0].details["reason"] == "compromised"
        # Revoking again is refused with a message, not a second event.
        again = client.post(url("revoke", alice_key), {"reason": ""}, follow=True)
        assert "already revoked" in again.content.decode()
        assert len(events("apikey.revoked")) == 1

    def test_reactivate_flow(self, client, alice, alice_key, system_actor):
        apikey_suspend(key=alice_key, actor=system_actor, reason="idle")
        login(client, alice)
        detail = client.get(url("detail", alice_key)).content.decode()
        assert "key_suspended" in detail and url("reactivate", alice_key) in detail
        client.post(url("reactivate", alice_key), {"password": "bad", "otp_code": "123456"})
        alice_key.refresh_from_db()
        assert alice_key.status == Status.SUSPENDED
        response = client.post(url("reactivate", alice_key), sudo_data(alice), follow=True)
        alice_key.refresh_from_db()
        assert alice_key.status == Status.ACTIVE
        assert "works again" in response.content.decode()
        assert events("apikey.reactivated")[0].actor == alice

    def test_keep_active(self, client, alice, alice_key):
        from datetime import timedelta

        from django.utils import timezone

        ApiKey.objects.filter(pk=alice_key.pk).update(
            created_at=timezone.now() - timedelta(days=61), stale_notified_at=timezone.now()
        )
        login(client, alice)
        detail = client.get(url("detail", alice_key)).content.decode()
        assert "will be suspended automatically on" in detail
        client.post(url("keep_active", alice_key))
        alice_key.refresh_from_db()
        assert not alice_key.is_stale and alice_key.stale_notified_at is None
        assert events("apikey.kept_active")[0].actor == alice

    def test_edit_scopes_page_shows_the_current_scopes_and_the_sudo_fields(
        self, client, alice, alice_key
    ):
        login(client, alice)
        page = client.get(url("edit_scopes", alice_key)).content.decode()
        assert re.search(r'value="monitors:read"[^>]*checked', page)
        assert 'name="password"' in page and 'name="otp_code"' in page
        assert "Removing scopes needs no confirmation" in page

    def test_removing_scopes_needs_no_confirmation(self, client, alice, make_key):
        key = make_key(name="wide", scopes=["monitors:read", "alerts:read"])[0]
        login(client, alice)
        response = client.post(url("edit_scopes", key), {"scopes": ["alerts:read"]})
        assert response.status_code == 302
        key.refresh_from_db()
        assert key.scopes == ["alerts:read"]
        [event] = events("apikey.scopes_changed")
        assert event.actor == alice and event.details["after"] == ["alerts:read"]

    def test_adding_a_scope_needs_password_and_code(self, client, alice, alice_key):
        from statuspool.accounts.models import TOTPDevice

        login(client, alice)
        wider = {"scopes": ["monitors:read", "teams:admin"]}
        response = client.post(url("edit_scopes", alice_key), wider)
        assert response.status_code == 200
        assert "This field is required." in response.content.decode()
        alice_key.refresh_from_db()
        assert alice_key.scopes == ["monitors:read"]

        wrong = sudo_data(alice, password="wrong password", **wider)
        response = client.post(url("edit_scopes", alice_key), wrong)
        assert "That password is not correct." in response.content.decode()
        assert "wrong password" not in response.content.decode()
        alice_key.refresh_from_db()
        assert alice_key.scopes == ["monitors:read"]
        assert not events("apikey.scopes_changed")
        [failed] = events("auth.sudo_failed")
        assert failed.details == {"reason": "wrong_password", "purpose": "apikey.scopes"}

        response = client.post(url("edit_scopes", alice_key), sudo_data(alice, **wider))
        assert response.status_code == 302
        alice_key.refresh_from_db()
        assert alice_key.scopes == ["monitors:read", "teams:admin"]
        [event] = events("apikey.scopes_changed")
        assert event.actor == alice and event.details["before"] == ["monitors:read"]
        assert TOTPDevice.objects.get(user=alice).last_used_step > 0  # the code was spent

    def test_swapping_a_scope_counts_as_adding_one(self, client, alice, alice_key):
        login(client, alice)
        client.post(url("edit_scopes", alice_key), {"scopes": ["monitors:write"]})
        alice_key.refresh_from_db()
        assert alice_key.scopes == ["monitors:read"] and not events("apikey.scopes_changed")

    def test_no_scope_at_all_is_refused(self, client, alice, alice_key):
        login(client, alice)
        response = client.post(url("edit_scopes", alice_key), {})
        html = response.content.decode()
        assert "Choose at least one scope." in html and "This field is required." not in html
        alice_key.refresh_from_db()
        assert alice_key.scopes == ["monitors:read"]
        assert not events("apikey.scopes_changed")


@pytest.mark.django_db
def test_rotating_a_rotated_out_key_is_refused_before_sudo(client, alice, alice_key, system_actor):
    apikey_rotate(key=alice_key, actor=system_actor, expire_old_in="1h")
    login(client, alice)
    data = sudo_data(alice, expire_old_in="now")
    response = client.post(url("rotate", alice_key), data, follow=True)
    assert "has not been rotated yet" in response.content.decode()
    assert ApiKey.objects.count() == 2
    # The code was not spent: it still confirms another action.
    from statuspool.accounts.models import TOTPDevice

    assert TOTPDevice.objects.get(user=alice).last_used_step == 0


@pytest.mark.django_db
def test_create_form_prefills_known_scopes_from_the_query_string(client, alice):
    login(client, alice)
    response = client.get(CREATE + "?scopes=monitors:write,teams:admin,bogus:scope")
    form = response.context["form"]
    assert form.initial["scopes"] == ["monitors:write", "teams:admin"]
    html = response.content.decode()
    assert re.search(r'value="monitors:write"[^>]*checked', html)
    assert not re.search(r'value="alerts:read"[^>]*checked', html)
