"""apikeys.services: limits, names, scopes and every state change with its one audit event."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from apikeys import authcache
from apikeys.models import ApiKey, Status
from apikeys.replacement import apikey_rotate
from apikeys.services import (
    apikey_create,
    apikey_create_default,
    apikey_keep_active,
    apikey_limit_reached,
    apikey_reactivate,
    apikey_revoke,
    apikey_suspend,
    apikey_update_scopes,
)
from audit.models import AuditEvent
from statuspool import api_key_format
from tests.apikeys.helpers import events

pytestmark = pytest.mark.django_db(transaction=False)


def assert_no_secret(event, raw):
    assert raw not in str(event.details)
    assert raw not in event.target_label and raw not in event.actor_label


class TestCreate:
    def test_create_stores_digest_only_and_audits(self, account_a, alice, system_actor):
        key, raw = apikey_create(
            account=account_a,
            name="  prod-monitoring-cli ",
            scopes=["alerts:read", "monitors:read", "monitors:read"],
            actor=system_actor,
            created_by=alice,
        )
        key.refresh_from_db()
        assert api_key_format.is_well_formed(raw)
        assert key.name == "prod-monitoring-cli"
        assert key.scopes == ["monitors:read", "alerts:read"]  # documentation order, no dupes
        assert key.public_id == api_key_format.public_id_of(raw)
        assert raw not in key.digest and key.matches(raw)
        assert key.created_by == alice and key.status == Status.ACTIVE
        (event,) = events("apikey.created")
        assert event.account_id == account_a.pk and event.target_id == str(key.pk)
        assert event.details["scopes"] == ["monitors:read", "alerts:read"]
        assert event.details["public_id"] == key.public_id
        assert event.actor_kind == "system"
        assert_no_secret(event, raw)

    def test_default_key(self, account_a, system_actor):
        key, raw = apikey_create_default(account=account_a, actor=system_actor)
        assert key.name == "Default key"
        assert key.scopes == ["monitors:read", "alerts:read"]
        assert key.matches(raw)

    @pytest.mark.parametrize("name", ["", "   ", "x" * 65])
    def test_name_length(self, make_key, name):
        with pytest.raises(ValidationError) as error:
            make_key(name=name)
        assert "1 to 64 characters" in str(error.value)
        assert not ApiKey.objects.exists()

    def test_name_of_64_characters_is_fine(self, make_key):
        key, _ = make_key(name="x" * 64)
        assert len(key.name) == 64

    def test_duplicate_name_refused_among_live_keys_only(self, make_key, system_actor):
        key, _ = make_key(name="deploy")
        with pytest.raises(ValidationError, match="already exists"):
            make_key(name="deploy")
        apikey_revoke(key=key, actor=system_actor)
        again, _ = make_key(name="deploy")  # a revoked key's name is free again
        assert again.pk != key.pk

    def test_same_name_in_another_account_is_fine(self, make_key, account_b):
        make_key(name="deploy")
        other, _ = make_key(name="deploy", account=account_b)
        assert other.account == account_b

    def test_no_scope_and_unknown_scope(self, make_key):
        with pytest.raises(ValidationError, match="at least one scope"):
            make_key(scopes=[])
        with pytest.raises(ValidationError, match="Unknown scope: admin:all"):
            make_key(scopes=["monitors:read", "admin:all"])
        assert not ApiKey.objects.exists()

    def test_fifth_key_refused_with_clear_message(self, make_key, account_a):
        for index in range(4):
            make_key(name=f"key-{index}")
        assert apikey_limit_reached(account=account_a)
        with pytest.raises(ValidationError) as error:
            make_key(name="fifth")
        assert "already has 4 keys" in " ".join(error.value.messages)
        assert ApiKey.objects.for_account(account_a).count() == 4
        assert len(events("apikey.created")) == 4

    def test_revoked_keys_do_not_count(self, make_key, system_actor):
        keys = [make_key(name=f"key-{index}")[0] for index in range(4)]
        apikey_revoke(key=keys[0], actor=system_actor)
        fifth, _ = make_key(name="fifth")
        assert fifth.status == Status.ACTIVE

    def test_limit_is_per_account(self, make_key, account_b):
        for index in range(4):
            make_key(name=f"key-{index}")
        other, _ = make_key(name="key-0", account=account_b)
        assert other.account == account_b

    @override_settings(APIKEY_MAX_PER_ACCOUNT=2)
    def test_limit_is_a_setting(self, make_key):
        make_key(name="one")
        make_key(name="two")
        with pytest.raises(ValidationError, match="already has 2 keys"):
            make_key(name="three")


class TestRotate:
    def test_rotate_with_grace_period(self, make_key, alice, system_actor):
        old, old_raw = make_key(name="deploy", scopes=["monitors:read", "alerts:write"])
        ApiKey.objects.filter(pk=old.pk).update(
            allowed_networks=["203.0.113.0/24"], usage_alerts_enabled=True
        )
        old.refresh_from_db()
        before = timezone.now()
        new, new_raw = apikey_rotate(
            key=old, actor=system_actor, expire_old_in="24h", created_by=alice
        )
        old.refresh_from_db()
        new.refresh_from_db()
        assert new_raw != old_raw and new.matches(new_raw) and not new.matches(old_raw)
        assert (new.name, new.scopes) == ("deploy", ["monitors:read", "alerts:write"])
        assert new.allowed_networks == ["203.0.113.0/24"] and new.usage_alerts_enabled
        assert new.rotated_from == old and old.rotated_to == new
        assert new.created_by == alice
        assert old.status == Status.ACTIVE and old.is_active
        assert (
            before + timedelta(hours=24)
            <= old.grace_ends_at
            <= timezone.now() + timedelta(hours=24)
        )
        (event,) = events("apikey.rotated")
        assert event.target_id == str(new.pk) and event.account_id == new.account_id
        assert event.details["old_public_id"] == old.public_id
        assert event.details["new_public_id"] == new.public_id
        assert event.details["old_grace_ends_at"] == old.grace_ends_at.isoformat()
        assert event.details["expire_old_in"] == "24h"
        assert_no_secret(event, new_raw)
        assert_no_secret(event, old_raw)
        assert not events("apikey.revoked")

    def test_rotate_now_revokes_old_key_in_one_event(self, make_key, alice, system_actor):
        old, _ = make_key(name="deploy")
        new, _ = apikey_rotate(key=old, actor=system_actor, expire_old_in="now", created_by=alice)
        old.refresh_from_db()
        assert old.status == Status.REVOKED and old.revoked_at is not None
        assert old.revoked_by == alice and new.display_id in old.revoked_reason
        assert old.grace_ends_at is None
        assert [e.action for e in AuditEvent.objects.filter(action__startswith="apikey.r")] == [
            "apikey.rotated"
        ]
        assert events("apikey.rotated")[0].details["old_revoked_at"] == old.revoked_at.isoformat()

    @pytest.mark.parametrize(
        "choice,delta", [("1h", timedelta(hours=1)), ("7d", timedelta(days=7))]
    )
    def test_expiry_choices(self, make_key, system_actor, choice, delta):
        old, _ = make_key()
        apikey_rotate(key=old, actor=system_actor, expire_old_in=choice)
        old.refresh_from_db()
        assert abs(old.grace_ends_at - (timezone.now() + delta)) < timedelta(seconds=30)

    def test_unknown_expiry_refused(self, make_key, system_actor):
        old, _ = make_key()
        with pytest.raises(ValidationError):
            apikey_rotate(key=old, actor=system_actor, expire_old_in="30d")
        assert ApiKey.objects.count() == 1

    def test_replacement_does_not_count_toward_limit_while_old_key_winds_down(
        self, make_key, account_a, system_actor
    ):
        keys = [make_key(name=f"key-{index}")[0] for index in range(4)]
        new, _ = apikey_rotate(key=keys[0], actor=system_actor, expire_old_in="7d")
        assert ApiKey.objects.for_account(account_a).not_revoked().count() == 5
        assert ApiKey.objects.for_account(account_a).counting_toward_limit().count() == 4
        with pytest.raises(ValidationError, match="already has 4 keys"):
            make_key(name="sixth")
        # Once the old key is revoked, the replacement takes its place.
        apikey_revoke(key=keys[0], actor=system_actor)
        assert ApiKey.objects.for_account(account_a).counting_toward_limit().count() == 4
        assert new.pk in ApiKey.objects.counting_toward_limit().values_list("pk", flat=True)

    def test_rotating_twice_or_an_inactive_key_is_refused(self, make_key, system_actor):
        old, _ = make_key()
        apikey_rotate(key=old, actor=system_actor, expire_old_in="1h")
        with pytest.raises(ValidationError, match="already been rotated"):
            apikey_rotate(key=old, actor=system_actor, expire_old_in="1h")
        revoked, _ = make_key(name="other")
        apikey_revoke(key=revoked, actor=system_actor)
        with pytest.raises(ValidationError, match="Only an active key"):
            apikey_rotate(key=revoked, actor=system_actor, expire_old_in="now")
        assert len(events("apikey.rotated")) == 1

    def test_rotate_invalidates_auth_cache_of_old_key(
        self, make_key, system_actor, django_capture_on_commit_callbacks
    ):
        from django.core.cache import cache

        old, _ = make_key()
        cache.set(authcache.cache_key(old.public_id), {"cached": True})
        with django_capture_on_commit_callbacks(execute=True):
            apikey_rotate(key=old, actor=system_actor, expire_old_in="now")
        assert cache.get(authcache.cache_key(old.public_id)) is None


class TestRevoke:
    def test_revoke_is_final_and_audited(self, make_key, alice, system_actor):
        key, raw = make_key()
        apikey_revoke(key=key, actor=system_actor, reason="compromised", revoked_by=alice)
        key.refresh_from_db()
        assert key.status == Status.REVOKED and not key.is_active
        assert key.revoked_by == alice and key.revoked_reason == "compromised"
        assert key.revoked_at is not None
        (event,) = events("apikey.revoked")
        assert event.details == {"public_id": key.public_id, "reason": "compromised"}
        assert_no_secret(event, raw)
        with pytest.raises(ValidationError, match="already revoked"):
            apikey_revoke(key=key, actor=system_actor)
        assert len(events("apikey.revoked")) == 1
        with pytest.raises(ValidationError):
            apikey_reactivate(key=key, actor=system_actor)

    def test_revoke_invalidates_auth_cache_after_commit(
        self, make_key, system_actor, django_capture_on_commit_callbacks
    ):
        from django.core.cache import cache

        key, _ = make_key()
        cache.set(authcache.cache_key(key.public_id), {"cached": True})
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            apikey_revoke(key=key, actor=system_actor)
        assert cache.get(authcache.cache_key(key.public_id)) == {"cached": True}
        for callback in callbacks:
            callback()
        assert cache.get(authcache.cache_key(key.public_id)) is None


class TestSuspendReactivateKeepActive:
    def test_suspend_then_reactivate(self, make_key, system_actor):
        key, _ = make_key()
        ApiKey.objects.filter(pk=key.pk).update(stale_notified_at=timezone.now())
        apikey_suspend(key=key, actor=system_actor, reason="Not used for 90 days")
        key.refresh_from_db()
        assert key.status == Status.SUSPENDED and key.suspended_at is not None
        (event,) = events("apikey.suspended")
        assert event.details["reason"] == "Not used for 90 days"
        with pytest.raises(ValidationError, match="Only an active key"):
            apikey_suspend(key=key, actor=system_actor, reason="again")

        apikey_reactivate(key=key, actor=system_actor)
        key.refresh_from_db()
        assert key.status == Status.ACTIVE and key.suspended_at is None
        assert key.kept_active_at is not None and key.stale_notified_at is None
        assert not key.is_stale
        assert len(events("apikey.reactivated")) == 1
        with pytest.raises(ValidationError, match="Only a suspended key"):
            apikey_reactivate(key=key, actor=system_actor)

    def test_keep_active_resets_clock_and_flags(self, make_key, system_actor):
        key, _ = make_key()
        long_ago = timezone.now() - timedelta(days=70)
        ApiKey.objects.filter(pk=key.pk).update(
            created_at=long_ago,
            stale_notified_at=timezone.now(),
            suspension_reminder_sent_at=timezone.now(),
        )
        key.refresh_from_db()
        assert key.is_stale
        apikey_keep_active(key=key, actor=system_actor)
        key.refresh_from_db()
        assert not key.is_stale
        assert key.kept_active_at > long_ago and key.last_used_at is None
        assert key.stale_notified_at is None and key.suspension_reminder_sent_at is None
        (event,) = events("apikey.kept_active")
        assert event.details["suspends_at"] == key.suspends_at.isoformat()

    def test_keep_active_refused_for_suspended_key(self, make_key, system_actor):
        key, _ = make_key()
        apikey_suspend(key=key, actor=system_actor, reason="manual")
        with pytest.raises(ValidationError):
            apikey_keep_active(key=key, actor=system_actor)
        assert not events("apikey.kept_active")


class TestScopes:
    def test_update_scopes(self, make_key, system_actor, django_capture_on_commit_callbacks):
        from django.core.cache import cache

        key, _ = make_key(scopes=["monitors:read"])
        cache.set(authcache.cache_key(key.public_id), {"cached": True})
        with django_capture_on_commit_callbacks(execute=True):
            apikey_update_scopes(
                key=key, scopes=["teams:admin", "monitors:read"], actor=system_actor
            )
        key.refresh_from_db()
        assert key.scopes == ["monitors:read", "teams:admin"]
        (event,) = events("apikey.scopes_changed")
        assert event.details["before"] == ["monitors:read"]
        assert event.details["after"] == ["monitors:read", "teams:admin"]
        assert cache.get(authcache.cache_key(key.public_id)) is None

    def test_unchanged_scopes_record_nothing(self, make_key, system_actor):
        key, _ = make_key(scopes=["monitors:read"])
        apikey_update_scopes(key=key, scopes=["monitors:read"], actor=system_actor)
        assert not events("apikey.scopes_changed")

    def test_invalid_scopes_refused(self, make_key, system_actor):
        key, _ = make_key(scopes=["monitors:read"])
        for scopes in ([], ["root"]):
            with pytest.raises(ValidationError):
                apikey_update_scopes(key=key, scopes=scopes, actor=system_actor)
        key.refresh_from_db()
        assert key.scopes == ["monitors:read"]

    def test_a_narrowing_cannot_widen_a_key_changed_meanwhile(self, make_key, system_actor):
        """The page offered a narrowing of [monitors:read, alerts:read] (no sudo); meanwhile
        another admin removed alerts:read; saving must not grant it back."""
        key, _ = make_key(scopes=["monitors:read"])
        with pytest.raises(ValidationError, match="changed meanwhile"):
            apikey_update_scopes(key=key, scopes=["alerts:read"], actor=system_actor, may_add=False)
        apikey_update_scopes(key=key, scopes=["monitors:read"], actor=system_actor, may_add=False)
        key.refresh_from_db()
        assert key.scopes == ["monitors:read"] and not events("apikey.scopes_changed")

    def test_revoked_key_scopes_cannot_change(self, make_key, system_actor):
        key, _ = make_key()
        apikey_revoke(key=key, actor=system_actor)
        with pytest.raises(ValidationError, match="revoked"):
            apikey_update_scopes(key=key, scopes=["alerts:read"], actor=system_actor)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_cannot_pass_the_limit(account_a):
    """Two admins create the 4th key at the same moment: exactly one succeeds."""
    import threading

    from django.db import connection

    from audit.services import Actor

    for index in range(3):
        apikey_create(
            account=account_a, name=f"key-{index}", scopes=["monitors:read"], actor=Actor.system()
        )
    barrier = threading.Barrier(2)
    outcomes = []

    def create(name):
        try:
            barrier.wait()
            apikey_create(
                account=account_a, name=name, scopes=["monitors:read"], actor=Actor.system()
            )
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(f"racer-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "refused"]
    assert ApiKey.objects.for_account(account_a).count() == 4


def test_can_rotate_is_the_rule_of_the_service_and_the_page(make_key, system_actor):
    key, _ = make_key(name="rotating")
    assert key.can_rotate
    new, _ = apikey_rotate(key=key, actor=system_actor, expire_old_in="24h")
    key.refresh_from_db()
    assert not key.can_rotate and new.can_rotate  # in its grace period; the replacement may
    revoked, _ = make_key(name="gone")
    apikey_revoke(key=revoked, actor=system_actor)
    assert not revoked.can_rotate
