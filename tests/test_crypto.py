"""Secrets at rest: AES-256-GCM values bound to their row, the key ring, rotation, keyed digests."""

import base64
import os

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from statuspool.accounts.models import TOTPDevice
from statuspool.crypto import (
    DecryptionError,
    decrypt,
    digest_matches,
    encrypt,
    key_id_of,
    keyed_digest,
)
from statuspool.monitoring.models import NotificationChannel
from tests.conftest import make_user

OLD_KEY = os.urandom(32)
NEW_KEY = os.urandom(32)
WEBHOOK = "https://hooks.slack.com/services/T0AAAA/B0BBBB/plaintextwebhooksecret"


def _pk_column(table):
    return "user_id" if table == "accounts_totpdevice" else "id"


def raw_column(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {_pk_column(table)} = %s", [pk])
        return cursor.fetchone()[0]


def write_raw_column(table, column, pk, value):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s WHERE {_pk_column(table)} = %s", [value, pk]
        )


def channel_pk(channel):
    # UUIDs are stored as 32 hex characters on SQLite and as native uuid on PostgreSQL.
    return channel.pk.hex if connection.vendor == "sqlite" else channel.pk


def make_channel(account, secret=WEBHOOK, name="#ops"):
    channel = NotificationChannel(account=account, name=name, kind="slack")
    channel.secret = secret
    channel.save()
    return channel


def test_round_trip_with_a_fresh_nonce_each_time():
    first = encrypt("s3cret", "table.column:1")
    second = encrypt("s3cret", "table.column:1")
    assert first != second
    assert first.startswith("v1$") and "s3cret" not in first
    assert decrypt(first, "table.column:1") == decrypt(second, "table.column:1") == "s3cret"


def test_tampered_ciphertext_is_refused():
    token = encrypt("s3cret", "t.c:1")
    prefix, body = token.rsplit("$", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[15] ^= 0x01
    tampered = prefix + "$" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(DecryptionError):
        decrypt(tampered, "t.c:1")
    with pytest.raises(DecryptionError):
        decrypt("not encrypted at all", "t.c:1")


def test_other_associated_data_is_refused():
    token = encrypt("s3cret", "t.c:1")
    with pytest.raises(DecryptionError, match="another row"):
        decrypt(token, "t.c:2")


def test_unknown_key_id_is_refused(settings):
    token = encrypt("s3cret", "t.c:1")
    settings.ENCRYPTION_KEYS = {"k9": NEW_KEY}
    with pytest.raises(DecryptionError, match="not in ENCRYPTION_KEYS"):
        decrypt(token, "t.c:1")


def test_key_ring_old_key_decrypts_new_key_encrypts(settings):
    settings.ENCRYPTION_KEYS = {"old": OLD_KEY}
    old_token = encrypt("s3cret", "t.c:1")
    settings.ENCRYPTION_KEYS = {"new": NEW_KEY, "old": OLD_KEY}
    assert decrypt(old_token, "t.c:1") == "s3cret"
    new_token = encrypt("s3cret", "t.c:1")
    assert key_id_of(old_token) == "old" and key_id_of(new_token) == "new"


@pytest.mark.django_db
def test_model_field_round_trip_and_nothing_in_clear(account_a):
    channel = make_channel(account_a)
    stored = raw_column("monitoring_notificationchannel", "secret", channel_pk(channel))
    assert stored.startswith("v1$") and WEBHOOK not in stored
    assert NotificationChannel.objects.get(pk=channel.pk).secret == WEBHOOK
    assert "plaintextwebhooksecret" not in repr(
        NotificationChannel.objects.get(pk=channel.pk).__dict__
    )


@pytest.mark.django_db
def test_ciphertext_copied_to_another_row_is_refused(account_a):
    victim = make_channel(account_a, name="victim")
    attacker = make_channel(account_a, secret="https://attacker.example/hook", name="attacker")
    stolen = raw_column("monitoring_notificationchannel", "secret", channel_pk(victim))
    write_raw_column("monitoring_notificationchannel", "secret", channel_pk(attacker), stolen)
    with pytest.raises(DecryptionError):
        NotificationChannel.objects.get(pk=attacker.pk).secret  # noqa: B018


@pytest.mark.django_db
def test_totp_seed_copied_to_another_user_is_refused(db):
    alice = make_user("alice@example.test")
    eve = make_user("eve@example.test")
    seed = raw_column("accounts_totpdevice", "secret", alice.pk)
    write_raw_column("accounts_totpdevice", "secret", eve.pk, seed)
    with pytest.raises(DecryptionError):
        TOTPDevice.objects.get(user=eve).secret  # noqa: B018


@pytest.mark.django_db
def test_plaintext_cannot_reach_the_column_through_update_or_filter(account_a):
    make_channel(account_a)
    with pytest.raises(ValueError, match="model.save"):
        NotificationChannel.objects.update(secret="https://in-the-clear.example")
    with pytest.raises(ValueError, match="model.save"):
        list(NotificationChannel.objects.filter(secret=WEBHOOK))


@pytest.mark.django_db
def test_no_plaintext_totp_seed_or_channel_secret_in_the_database():
    from statuspool.onboarding.demo import seed_demo

    seed_demo()
    user = make_user("solo@example.test")
    seeds = [device.secret for device in TOTPDevice.objects.all()]
    secrets_ = [c.secret for c in NotificationChannel.objects.all() if c.secret]
    assert len(seeds) >= 2 and len(secrets_) >= 3
    assert pyotp.TOTP(TOTPDevice.objects.get(user=user).secret).now().isdigit()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_totpdevice")
        stored_seeds = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT secret FROM monitoring_notificationchannel WHERE secret IS NOT NULL")
        stored_secrets = [row[0] for row in cursor.fetchall()]
    dump = "\n".join(stored_seeds + stored_secrets)
    for plaintext in seeds + secrets_:
        assert plaintext not in dump
    assert all(value.startswith("v1$") for value in stored_seeds + stored_secrets)


@pytest.mark.django_db
def test_rotate_encryption_key_re_encrypts_every_value(settings, account_a, capsys):
    settings.ENCRYPTION_KEYS = {"old": OLD_KEY}
    channel = make_channel(account_a)
    email_only = NotificationChannel.objects.create(account=account_a, name="mail", kind="email")
    user = make_user("rotate@example.test")
    seed = TOTPDevice.objects.get(user=user).secret
    settings.ENCRYPTION_KEYS = {"new": NEW_KEY, "old": OLD_KEY}

    call_command("rotate_encryption_key", "--dry-run")
    out = capsys.readouterr().out
    assert "2 encrypted values: 0 already use it, 2 would be re-encrypted" in out
    assert raw_column("accounts_totpdevice", "secret", user.pk).startswith("v1$old$")

    call_command("rotate_encryption_key", "--batch-size", "1")
    out = capsys.readouterr().out
    assert "2 encrypted values: 0 already use it, 2 re-encrypted" in out
    stored_channel = raw_column("monitoring_notificationchannel", "secret", channel_pk(channel))
    stored_seed = raw_column("accounts_totpdevice", "secret", user.pk)
    assert stored_channel.startswith("v1$new$") and stored_seed.startswith("v1$new$")
    assert raw_column("monitoring_notificationchannel", "secret", channel_pk(email_only)) is None

    # The old key can now leave the ring.
    settings.ENCRYPTION_KEYS = {"new": NEW_KEY}
    assert NotificationChannel.objects.get(pk=channel.pk).secret == WEBHOOK
    assert TOTPDevice.objects.get(user=user).secret == seed
    call_command("rotate_encryption_key")
    assert "2 already use it, 0 re-encrypted" in capsys.readouterr().out


@pytest.mark.django_db
def test_rotate_reports_values_it_cannot_read(settings, account_a, capsys):
    settings.ENCRYPTION_KEYS = {"lost": OLD_KEY}
    channel = make_channel(account_a)
    settings.ENCRYPTION_KEYS = {"new": NEW_KEY}
    with pytest.raises(
        CommandError, match=f"monitoring.NotificationChannel.secret pk={channel.pk}"
    ):
        call_command("rotate_encryption_key")
    assert "1 unreadable" in capsys.readouterr().out
    assert raw_column("monitoring_notificationchannel", "secret", channel_pk(channel)).startswith(
        "v1$lost$"
    )


def test_keyed_digest_and_digest_matches(settings):
    settings.DIGEST_PEPPERS = {"p2": b"n" * 32, "p1": b"o" * 32}
    pepper_id, digest = keyed_digest("sp_live_example")
    assert pepper_id == "p2" and len(digest) == 64
    assert keyed_digest("sp_live_example") == (pepper_id, digest)
    assert digest_matches("sp_live_example", "p2", digest)
    assert not digest_matches("sp_live_examplf", "p2", digest)
    # A digest made with an older pepper still matches while that pepper is in the ring.
    _, old_digest = keyed_digest("sp_live_example", "p1")
    assert old_digest != digest
    assert digest_matches("sp_live_example", "p1", old_digest)
    assert not digest_matches("sp_live_example", "p2", old_digest)
    settings.DIGEST_PEPPERS = {"p2": b"n" * 32}
    assert not digest_matches("sp_live_example", "p1", old_digest)  # unknown pepper id
