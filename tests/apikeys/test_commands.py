"""Operator commands: createapikey, listapikeys, revokeapikey, rotateapikey."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apikeys.models import ApiKey, Status
from statuspool import api_key_format
from tests.apikeys.helpers import events

ROOT = Path(__file__).resolve().parents[2]


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().rstrip("\n").split("\n")


@pytest.mark.django_db
class TestCreateApiKey:
    def test_prints_key_alone_on_last_line(self, account_a):
        lines = run(
            "createapikey",
            "--account",
            str(account_a.pk),
            "--name",
            "ops-cli",
            "--scopes",
            "monitors:read,alerts:read",
        )
        raw = lines[-1]
        assert api_key_format.is_well_formed(raw)
        assert all(raw not in line for line in lines[:-1])
        key = ApiKey.objects.get(public_id=api_key_format.public_id_of(raw))
        assert key.matches(raw) and key.account == account_a
        assert key.scopes == ["monitors:read", "alerts:read"] and key.created_by is None
        (event,) = events("apikey.created")
        assert event.actor_kind == "system" and event.actor_label == "manage.py createapikey"

    def test_account_by_exact_name(self, account_a):
        raw = run(
            "createapikey", "--account", "Acme Monitoring", "--name", "x", "--scopes", "teams:admin"
        )[-1]
        assert ApiKey.objects.get(public_id=api_key_format.public_id_of(raw)).account == account_a

    @pytest.mark.parametrize(
        "args,message",
        [
            (["--account", "Nope", "--name", "x", "--scopes", "monitors:read"], "No account"),
            (["--account", "Acme Monitoring", "--name", "x", "--scopes", "root"], "Unknown scope"),
            (
                ["--account", "Acme Monitoring", "--name", "x", "--scopes", ","],
                "at least one scope",
            ),
        ],
    )
    def test_errors(self, account_a, args, message):
        with pytest.raises(CommandError, match=message):
            call_command("createapikey", *args, stdout=StringIO())
        assert not ApiKey.objects.exists()

    def test_limit_and_dry_run(self, account_a, make_key):
        for index in range(3):
            make_key(name=f"key-{index}")
        args = ["--account", str(account_a.pk), "--name", "fourth", "--scopes", "monitors:read"]
        assert "Dry run" in run("createapikey", *args, "--dry-run")[-1]
        assert ApiKey.objects.count() == 3
        run("createapikey", *args)
        with pytest.raises(CommandError, match="already has 4 keys"):
            call_command("createapikey", *args[:3], "fifth", *args[4:], stdout=StringIO())


@pytest.mark.django_db
class TestListRevokeRotate:
    def test_list_table(self, account_a, make_key, system_actor):
        from apikeys.services import apikey_revoke

        live, _ = make_key(name="live", scopes=["monitors:read", "alerts:read"])
        dead, _ = make_key(name="dead")
        apikey_revoke(key=dead, actor=system_actor)
        lines = run("listapikeys", "--account", "Acme Monitoring")
        assert lines[0].split() == [
            "PUBLIC",
            "ID",
            "NAME",
            "SCOPES",
            "STATUS",
            "EXPIRES",
            "POLICY",
            "LAST",
            "USED",
        ]
        live_row = next(line for line in lines if line.startswith(live.public_id))
        assert "live" in live_row and "monitors:read,alerts:read" in live_row
        assert "active" in live_row and live_row.endswith("never")
        dead_row = next(line for line in lines if line.startswith(dead.public_id))
        assert "revoked" in dead_row

    def test_revoke(self, make_key):
        key, raw = make_key()
        lines = run("revokeapikey", key.public_id, "--reason", "compromised")
        assert "Revoked" in lines[-1] and raw not in "\n".join(lines)
        key.refresh_from_db()
        assert key.status == Status.REVOKED and key.revoked_reason == "compromised"
        (event,) = events("apikey.revoked")
        assert event.actor_kind == "system" and event.actor_label == "manage.py revokeapikey"
        assert event.details["reason"] == "compromised"
        with pytest.raises(CommandError, match="already revoked"):
            call_command("revokeapikey", key.public_id, stdout=StringIO())

    def test_revoke_dry_run_and_unknown(self, make_key):
        key, _ = make_key()
        assert "Dry run" in run("revokeapikey", key.display_id, "--dry-run")[-1]
        key.refresh_from_db()
        assert key.status == Status.ACTIVE
        with pytest.raises(CommandError, match="No API key"):
            call_command("revokeapikey", "zzzzzzzz", stdout=StringIO())

    def test_full_key_is_refused_as_argument(self, make_key):
        key, raw = make_key()
        with pytest.raises(CommandError) as error:
            call_command("revokeapikey", raw, stdout=StringIO())
        assert raw not in str(error.value)
        key.refresh_from_db()
        assert key.status == Status.ACTIVE

    def test_rotate(self, make_key):
        key, old_raw = make_key(name="deploy", scopes=["alerts:write"])
        lines = run("rotateapikey", key.public_id, "--expire-old-in", "1h")
        raw = lines[-1]
        assert api_key_format.is_well_formed(raw) and raw != old_raw
        new = ApiKey.objects.get(public_id=api_key_format.public_id_of(raw))
        assert new.matches(raw) and new.rotated_from == key and new.scopes == ["alerts:write"]
        key.refresh_from_db()
        assert key.grace_ends_at is not None and "works until" in lines[0]
        (event,) = events("apikey.rotated")
        assert event.actor_label == "manage.py rotateapikey"

    def test_rotate_default_revokes_now(self, make_key):
        key, _ = make_key()
        run("rotateapikey", key.public_id)
        key.refresh_from_db()
        assert key.status == Status.REVOKED

    def test_help_texts(self, capsys):
        for command in ("createapikey", "listapikeys", "revokeapikey", "rotateapikey"):
            with pytest.raises(SystemExit):
                call_command(command, "--help")
            assert "usage:" in capsys.readouterr().out


def _manage(env, *args, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_create_then_revoke_in_separate_processes(tmp_path):
    """Each command is its own process against one database, as an operator would run them."""
    from statuspool.envfile import render

    env_file = tmp_path / "test.env"
    env_file.write_text(render())
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "STATUSPOOL_VAR_DIR", "STATUSPOOL_ENV_FILE"}
    }
    env.update(STATUSPOOL_VAR_DIR=str(tmp_path / "var"), STATUSPOOL_ENV_FILE=str(env_file))
    assert _manage(env, "migrate", "--noinput").returncode == 0
    setup = _manage(
        env,
        "shell",
        "--verbosity=0",
        "-c",
        "from statuspool.accounts.models import Account; "
        "Account.objects.create(name='Ops Test', billing_email='ops@example.test')",
    )
    assert setup.returncode == 0, setup.stderr

    created = _manage(
        env, "createapikey", "--account", "Ops Test", "--name", "ops", "--scopes", "monitors:read"
    )
    assert created.returncode == 0, created.stderr
    raw = created.stdout.rstrip("\n").split("\n")[-1]
    assert api_key_format.is_well_formed(raw)
    public_id = api_key_format.public_id_of(raw)

    revoked = _manage(env, "revokeapikey", public_id, "--reason", "compromised")
    assert revoked.returncode == 0, revoked.stderr
    check = _manage(
        env,
        "shell",
        "--verbosity=0",
        "-c",
        "import sys; from apikeys.models import ApiKey; "
        f"key = ApiKey.objects.get(public_id='{public_id}'); "
        "print(key.status, key.revoked_reason, key.matches(sys.stdin.read().strip()))",
        stdin=raw,
    )
    assert check.stdout.split() == ["revoked", "compromised", "True"], check.stderr
    listed = _manage(env, "listapikeys", "--account", "Ops Test")
    assert public_id in listed.stdout and "revoked" in listed.stdout
    assert raw not in listed.stdout + revoked.stdout + revoked.stderr + listed.stderr
