"""Replacement at the limit, revoking a replacement with its predecessor, rename/describe, and the
Enterprise key policy (issue 14 items 2-4)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from apikeys.models import ApiKey, ApiKeyPolicy, Status
from apikeys.policy import apikey_policy_update, out_of_policy
from apikeys.replacement import apikey_replace, apikey_rotate
from apikeys.services import apikey_create, apikey_revoke, apikey_update_details
from audit.services import Actor
from tests.apikeys.helpers import events, sudo_data
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_account(account_a, alice, make_key, settings):
    """Account A at its limit of 4 keys; the first has an allowlist, alerts and a 30-day life."""
    account_a.plan = "enterprise"
    account_a.save(update_fields=["plan"])
    first, raw = apikey_create(
        account=account_a,
        name="prod",
        scopes=["monitors:read", "alerts:write"],
        actor=Actor.system("t"),
        expires_at=timezone.now() + timedelta(days=30),
        allowed_networks=["203.0.113.0/24"],
        description="Grafana on prod",
    )
    ApiKey.objects.filter(pk=first.pk).update(usage_alerts_enabled=True)
    for name in ("b", "c", "d"):
        make_key(name=name)
    first.refresh_from_db()
    return first, raw


def test_replace_at_the_limit_copies_everything_and_revokes_now(full_account, alice):
    old, old_raw = full_account
    new, raw = apikey_replace(
        key=old, actor=Actor.system("t"), expire_old_in="now", created_by=alice, name="prod-2"
    )
    old.refresh_from_db()
    assert old.status == Status.REVOKED and "replaced by" in old.revoked_reason
    assert new.name == "prod-2" and new.description == "Grafana on prod"
    assert (new.scopes, new.allowed_networks) == (old.scopes, ["203.0.113.0/24"])
    assert new.usage_alerts_enabled and new.rotated_from == old
    assert abs(new.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert ApiKey.objects.for_account(old.account).counting_toward_limit().count() == 4
    (event,) = events("apikey.replaced")
    assert event.details["old_public_id"] == old.public_id and raw not in str(event.details)


def test_replace_with_overlap_keeps_the_old_key_working(full_account):
    old, _ = full_account
    apikey_replace(key=old, actor=Actor.system("t"), expire_old_in="24h")
    old.refresh_from_db()
    assert old.is_active and old.grace_ends_at > timezone.now() + timedelta(hours=23)


def test_replace_refuses_a_name_taken_by_another_key(full_account):
    old, _ = full_account
    with pytest.raises(ValidationError, match="already exists"):
        apikey_replace(key=old, actor=Actor.system("t"), expire_old_in="now", name="b")
    old.refresh_from_db()
    assert old.status == Status.ACTIVE


def test_revoking_a_replacement_can_end_its_predecessors_grace(full_account, alice):
    old, _ = full_account
    new, _ = apikey_rotate(key=old, actor=Actor.system("t"), expire_old_in="7d")
    apikey_revoke(key=new, actor=Actor.system("t"), end_predecessor_grace=True, revoked_by=alice)
    old.refresh_from_db()
    assert old.status == Status.REVOKED and "Grace period ended" in old.revoked_reason
    assert len(events("apikey.revoked")) == 2


def test_revoking_a_replacement_alone_keeps_the_predecessor(full_account):
    old, _ = full_account
    new, _ = apikey_rotate(key=old, actor=Actor.system("t"), expire_old_in="7d")
    apikey_revoke(key=new, actor=Actor.system("t"))
    old.refresh_from_db()
    assert old.is_active


def test_rename_and_describe_is_audited(full_account):
    old, _ = full_account
    apikey_update_details(
        key=old, name="prod-grafana", description="Grafana, ask @ops", actor=Actor.system("t")
    )
    old.refresh_from_db()
    assert (old.name, old.description) == ("prod-grafana", "Grafana, ask @ops")
    (event,) = events("apikey.details_changed")
    assert event.details["changed"]["name"] == {"before": "prod", "after": "prod-grafana"}
    apikey_update_details(
        key=old, name="prod-grafana", description="Grafana, ask @ops", actor=Actor.system("t")
    )
    assert len(events("apikey.details_changed")) == 1  # nothing changed, nothing recorded


def test_a_description_never_holds_a_credential(full_account):
    old, raw = full_account
    with pytest.raises(ValidationError, match="Never put a key"):
        apikey_update_details(
            key=old, name="prod", description=f"key: {raw}", actor=Actor.system("t")
        )


# --- policy -------------------------------------------------------------------------------------
def test_policy_is_enforced_on_new_keys_and_lists_old_ones(account_a, alice):
    account_a.plan = "enterprise"
    account_a.save(update_fields=["plan"])
    forever, _ = apikey_create(
        account=account_a, name="old", scopes=["monitors:read"], actor=Actor.system("t")
    )
    apikey_policy_update(
        account=account_a, max_lifetime_days=30, require_allowlist=True, actor=Actor.system("t")
    )
    (event,) = events("apikey.policy_changed")
    assert event.details["after"] == {"max_lifetime_days": 30, "require_allowlist": True}
    with pytest.raises(ValidationError) as refused:
        apikey_create(
            account=account_a, name="new", scopes=["monitors:read"], actor=Actor.system("t")
        )
    assert set(refused.value.message_dict) == {"expires", "allowed_networks"}
    with pytest.raises(ValidationError):
        apikey_create(
            account=account_a,
            name="new",
            scopes=["monitors:read"],
            actor=Actor.system("t"),
            allowed_networks=["10.0.0.0/8"],
            expires_at=timezone.now() + timedelta(days=60),
        )
    ok, _ = apikey_create(
        account=account_a,
        name="new",
        scopes=["monitors:read"],
        actor=Actor.system("t"),
        allowed_networks=["10.0.0.0/8"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    assert out_of_policy(account_a) == [(forever, ["never expires", "no IP allowlist"])]
    # A replacement of the old key is brought into policy (30 days), or refused without allowlist.
    with pytest.raises(ValidationError, match="allowlist"):
        apikey_replace(key=forever, actor=Actor.system("t"), expire_old_in="now")
    ApiKey.objects.filter(pk=forever.pk).update(allowed_networks=["10.0.0.0/8"])
    forever.refresh_from_db()
    new, _ = apikey_replace(key=forever, actor=Actor.system("t"), expire_old_in="now")
    assert abs(new.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_policy_needs_enterprise(account_a):
    with pytest.raises(ValidationError, match="Enterprise"):
        apikey_policy_update(
            account=account_a,
            max_lifetime_days=30,
            require_allowlist=False,
            actor=Actor.system("t"),
        )
    assert not ApiKeyPolicy.objects.exists()


def test_createapikey_command_obeys_the_policy(account_a, alice):
    account_a.plan = "enterprise"
    account_a.save(update_fields=["plan"])
    apikey_policy_update(
        account=account_a, max_lifetime_days=7, require_allowlist=False, actor=Actor.system("t")
    )
    base = [
        "createapikey",
        "--account",
        account_a.name,
        "--name",
        "cli",
        "--scopes",
        "monitors:read",
    ]
    with pytest.raises(CommandError, match="expire within 7 days"):
        call_command(*base, stdout=StringIO())
    call_command(*base, "--expires-in", "7d", stdout=StringIO())
    out = StringIO()
    call_command("listapikeys", "--account", account_a.name, stdout=out)
    assert "Key policy: max lifetime 7 days" in out.getvalue()


# --- dashboard ------------------------------------------------------------------------------------
def test_replace_page_at_the_limit(client, alice, full_account):
    old, _ = full_account
    login(client, alice)
    listing = client.get("/settings/api-access/").content.decode()
    assert "choose “Replace”" in listing
    response = client.post(
        f"/settings/api-access/{old.public_id}/replace/",
        sudo_data(alice, name="prod", expire_old_in="1h"),
    )
    assert response.status_code == 200 and "Key rotated" in response.content.decode()
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    old.refresh_from_db()
    assert old.grace_ends_at is not None and old.rotated_to.name == "prod"
    listing = client.get("/settings/api-access/").content.decode()
    assert "5 keys are listed but 4 count toward the limit of 4" in listing


def test_replace_needs_sudo(client, alice, full_account):
    old, _ = full_account
    login(client, alice)
    response = client.post(
        f"/settings/api-access/{old.public_id}/replace/",
        {"name": "prod", "expire_old_in": "now", "password": "wrong", "otp_code": "000000"},
    )
    assert response.status_code == 200
    old.refresh_from_db()
    assert old.status == Status.ACTIVE and not ApiKey.objects.filter(rotated_from=old).exists()


def test_other_accounts_cannot_replace_or_rename(client, charlie, full_account):
    old, _ = full_account
    login(client, charlie)
    assert client.get(f"/settings/api-access/{old.public_id}/replace/").status_code == 404
    assert (
        client.post(f"/settings/api-access/{old.public_id}/details/", {"name": "pwned"}).status_code
        == 404
    )
    old.refresh_from_db()
    assert old.name == "prod"


def test_revoke_page_offers_to_end_the_grace_checked(client, alice, full_account):
    old, _ = full_account
    new, _ = apikey_rotate(key=old, actor=Actor.system("t"), expire_old_in="7d")
    login(client, alice)
    page = client.get(f"/settings/api-access/{new.public_id}/revoke/").content.decode()
    assert 'name="end_predecessor_grace"' in page and "checked" in page
    client.post(
        f"/settings/api-access/{new.public_id}/revoke/",
        {"reason": "compromised", "end_predecessor_grace": "on"},
    )
    old.refresh_from_db()
    assert old.status == Status.REVOKED


def test_rename_page(client, alice, full_account):
    old, _ = full_account
    login(client, alice)
    response = client.post(
        f"/settings/api-access/{old.public_id}/details/",
        {"name": "prod-new", "description": "Now with notes"},
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert (old.name, old.description) == ("prod-new", "Now with notes")
    detail = client.get(f"/settings/api-access/{old.public_id}/").content.decode()
    assert "Now with notes" in detail


def test_policy_page_owner_only_with_sudo(client, alice, bob, full_account):
    login(client, bob)
    page = client.get("/settings/api-access/policy/")
    assert page.status_code == 200 and "Only the account owner" in page.content.decode()
    assert (
        client.post(
            "/settings/api-access/policy/", sudo_data(bob, max_lifetime_days="30")
        ).status_code
        == 404
    )
    login(client, alice)
    response = client.post(
        "/settings/api-access/policy/",
        sudo_data(alice, max_lifetime_days="30", require_allowlist="on"),
    )
    assert response.status_code == 302
    policy = ApiKeyPolicy.objects.get()
    assert (policy.max_lifetime_days, policy.require_allowlist) == (30, True)
    page = client.get("/settings/api-access/policy/").content.decode()
    assert "Keys out of policy" in page and "never expires" in page
    apikey_revoke(key=ApiKey.objects.get(name="d"), actor=Actor.system("t"))  # room for one
    create = client.get("/settings/api-access/new/").content.decode()
    assert "keys must expire within 30 days" in create and 'value="never"' not in create


def test_policy_keeps_an_allowlist_from_being_emptied(full_account):
    from apikeys.restriction_services import apikey_set_allowed_networks

    old, _ = full_account
    apikey_policy_update(
        account=old.account,
        max_lifetime_days=None,
        require_allowlist=True,
        actor=Actor.system("t"),
    )
    with pytest.raises(ValidationError, match="keep at least one block"):
        apikey_set_allowed_networks(key=old, networks=[], actor=Actor.system("t"))
    old.refresh_from_db()
    assert old.allowed_networks == ["203.0.113.0/24"]
