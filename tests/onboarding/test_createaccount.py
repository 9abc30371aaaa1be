"""manage.py createaccount: account + owner + default key, the key alone on the last line."""

import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apikeys.models import ApiKey
from audit.models import AuditEvent
from statuspool import api_key_format
from statuspool.accounts.models import Account, User
from statuspool.onboarding.management.commands.createaccount import Command
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "operator-chosen passphrase 9"


def run(monkeypatch, *args, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("createaccount", *args, stdout=out)
    return out.getvalue().splitlines()


def test_new_owner_with_password_from_stdin(monkeypatch):
    lines = run(
        monkeypatch,
        "--name",
        "Ops Team",
        "--owner-email",
        "Ops@Example.test",
        "--password-stdin",
        stdin=NEW_PASSWORD + "\n",
    )

    account = Account.objects.get(name="Ops Team")
    assert f"Account id: {account.pk}" in lines
    key = lines[-1]
    assert api_key_format.is_well_formed(key)
    [stored] = ApiKey.objects.filter(account=account)
    assert stored.matches(key) and stored.name == "Default key" and stored.created_by is None
    user = User.objects.get(email="ops@example.test")
    assert user.check_password(NEW_PASSWORD)
    assert account.owner == user and account.plan == "team"
    assert account.billing_email == "ops@example.test"
    created = AuditEvent.objects.get(action="account.created", account=account)
    assert created.actor_kind == "system" and created.actor_label == "manage.py createaccount"
    assert not AuditEvent.objects.filter(action="auth.signup").exists()
    assert key not in str(list(AuditEvent.objects.values()))


def test_existing_user_becomes_owner_without_a_password(monkeypatch, alice, account_a):
    lines = run(
        monkeypatch, "--name", "Second", "--owner-email", alice.email, "--plan", "enterprise"
    )
    account = Account.objects.get(name="Second")
    assert account.plan == "enterprise" and account.owner == alice
    assert api_key_format.is_well_formed(lines[-1])
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert alice.memberships.count() == 2


def test_prompts_twice_when_not_reading_stdin(monkeypatch):
    answers = iter([NEW_PASSWORD, NEW_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    out = io.StringIO()
    call_command(
        "createaccount", "--name", "Prompted", "--owner-email", "p@example.test", stdout=out
    )
    assert User.objects.get(email="p@example.test").check_password(NEW_PASSWORD)
    assert api_key_format.is_well_formed(out.getvalue().splitlines()[-1])


def test_prompted_passwords_must_match(monkeypatch):
    answers = iter([NEW_PASSWORD, NEW_PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    with pytest.raises(CommandError, match="differ"):
        call_command("createaccount", "--name", "X", "--owner-email", "x@example.test")
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--plan", "gold"], NEW_PASSWORD, "Unknown plan"),
        (["--owner-email", "not-an-email"], NEW_PASSWORD, "not a valid email"),
        ([], "12345\n", "too short"),
        ([], "\n", "no password"),
        (["--name", ""], NEW_PASSWORD, "name of 1 to 100"),
    ],
)
def test_clear_errors(monkeypatch, args, stdin, message):
    base = {"--name": "Acme", "--owner-email": "new@example.test"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair] + ["--password-stdin"]
    with pytest.raises(CommandError, match=message):
        run(monkeypatch, *argv, stdin=stdin)
    assert not Account.objects.exists() and not User.objects.exists()


def test_error_exits_non_zero(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(NEW_PASSWORD))
    argv = [
        "manage.py",
        "createaccount",
        "--name",
        "A",
        "--owner-email",
        "a@example.test",
        "--plan",
        "gold",
        "--password-stdin",
    ]
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(argv)
    assert exit_info.value.code == 1
    assert "Unknown plan" in capsys.readouterr().err


def test_help_states_the_criteria():
    help_text = Command().create_parser("manage.py", "createaccount").format_help()
    assert "--password-stdin" in help_text and "last line" in help_text


# --- --dry-run -------------------------------------------------------------------------------------
def nothing_written():
    return not (
        Account.objects.exists()
        or User.objects.exists()
        or ApiKey.objects.exists()
        or AuditEvent.objects.exists()
    )


def test_dry_run_prints_what_would_be_created_and_writes_nothing(monkeypatch):
    lines = run(
        monkeypatch,
        "--name",
        " Ops Team ",
        "--owner-email",
        "Ops@Example.test",
        "--plan",
        "Enterprise",
        "--password-stdin",
        "--dry-run",
        stdin=NEW_PASSWORD + "\n",
    )
    assert lines[0] == (
        "Dry run: would create account 'Ops Team' on the Enterprise plan; "
        "owner ops@example.test (new user)."
    )
    assert "“Default key” (monitors:read, alerts:read)" in lines[1]
    assert "Nothing was written." in lines[1]
    assert not any(api_key_format.PREFIX in line for line in lines)
    assert nothing_written()


def test_dry_run_with_an_existing_owner_reads_no_password(monkeypatch, alice, account_a):
    lines = run(monkeypatch, "--name", "Second", "--owner-email", "ALICE@acme.test", "--dry-run")
    assert lines[0].endswith("owner alice@acme.test (existing user).")
    assert Account.objects.count() == 1 and alice.memberships.count() == 1
    assert not ApiKey.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--plan", "gold"], NEW_PASSWORD, "Unknown plan"),
        (["--owner-email", "not-an-email"], NEW_PASSWORD, "not a valid email"),
        ([], "12345\n", "too short"),
        ([], "ops@example.test\n", "too similar"),
        ([], "\n", "no password"),
        (["--name", "x" * 101], NEW_PASSWORD, "name of 1 to 100"),
    ],
)
def test_dry_run_applies_the_same_rules(monkeypatch, args, stdin, message):
    base = {"--name": "Acme", "--owner-email": "ops@example.test"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair] + ["--password-stdin", "--dry-run"]
    with pytest.raises(CommandError, match=message):
        run(monkeypatch, *argv, stdin=stdin)
    assert nothing_written()


def test_help_mentions_dry_run():
    parser = Command().create_parser("manage.py", "createaccount")
    help_text = " ".join(parser.format_help().split())
    assert "--dry-run" in help_text and "writing nothing" in help_text
