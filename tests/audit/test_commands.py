"""export_audit_log and the commands' help texts (verify and purge are tested with the chain
and retention)."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from .conftest import add_event


def run(*args):
    out = io.StringIO()
    call_command("export_audit_log", *args, stdout=out)
    return out.getvalue()


def test_export_csv_oldest_first_for_one_account(events_a, account_a, account_b):
    add_event(account_b, "apikey.revoked")
    rows = list(csv.DictReader(io.StringIO(run("--account", str(account_a.pk)))))
    assert [int(row["id"]) for row in rows] == [event.id for event in events_a]
    assert rows[0]["occurred_at"] == "2026-03-01T12:00:00.123456+00:00"
    assert rows[0]["hash"] == events_a[0].hash and rows[1]["prev_hash"] == events_a[0].hash


def test_export_jsonl_with_a_date_range_and_the_account_name(events_a):
    lines = run(
        "--account",
        "Acme Monitoring",
        "--since",
        "2026-03-02",
        "--until",
        "2026-03-03",
        "--format",
        "jsonl",
    ).splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["id"] for record in records] == [events_a[1].id, events_a[2].id]
    assert records[0]["details"] == {"n": 2}
    assert records[0]["actor_email"] == "alice@acme.test"


def test_export_accepts_date_times(events_a):
    out = run(
        "--account",
        "Acme Monitoring",
        "--since",
        "2026-03-05T12:00:00.123456+00:00",
        "--format",
        "jsonl",
    )
    assert [json.loads(line)["id"] for line in out.splitlines()] == [events_a[-1].id]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "Nobody Inc"], "No account"),
        (["--account", "Acme Monitoring", "--since", "soon"], "is not a date"),
    ],
)
def test_export_refuses_bad_arguments(account_a, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_verify_names_the_account_by_name(events_a):
    out = io.StringIO()
    call_command("verify_audit_log", "--account", "Acme Monitoring", "--no-progress", stdout=out)
    assert "OK: 1 chain(s), 5 event(s) verified." in out.getvalue()


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("verify_audit_log", ["Exits 0", "altered, deleted or inserted", "--account"]),
        ("purge_audit_log", ["365", "--dry-run", "--days", "anchor"]),
        ("export_audit_log", ["--since", "--until", "--format", "JSON Lines"]),
    ],
)
def test_help_texts_state_their_criteria(command, words):
    from django.core.management import get_commands, load_command_class

    app = get_commands()[command]  # purge_audit_log is usage's: it purges the request log too
    parser = load_command_class(app, command).create_parser("manage.py", command)
    text = " ".join(parser.format_help().split())
    for word in words:
        assert word in text


def test_events_at_the_same_microsecond_export_in_chain_order(account_a):
    moment = datetime(2026, 8, 1, tzinfo=UTC)
    first = add_event(account_a, at=moment)
    second = add_event(account_a, "apikey.revoked", at=moment)
    records = [
        json.loads(line)
        for line in run("--account", str(account_a.pk), "--format", "jsonl").splitlines()
    ]
    assert [record["id"] for record in records] == [first.id, second.id]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def export(*args, stderr):
    out = io.StringIO()
    call_command("export_audit_log", *args, stdout=out, stderr=stderr)
    return out.getvalue()


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_export_progress_bar_goes_to_a_terminal_stderr_never_into_the_export(events_a, format):
    args = ["--account", "Acme Monitoring", "--format", format]
    quiet = export(*args, "--no-progress", stderr=Terminal())

    bar = Terminal()
    assert export(*args, stderr=bar) == quiet
    assert "5/5" in bar.getvalue() and "event" in bar.getvalue()
    assert "5/5" not in quiet and quiet == run(*args)  # pytest captures stderr: no terminal

    piped = io.StringIO()  # stderr is not a terminal (cron, a pipe): no bar at all
    assert export(*args, stderr=piped) == quiet and piped.getvalue() == ""

    hidden = Terminal()
    assert export(*args, "--no-progress", stderr=hidden) == quiet and hidden.getvalue() == ""
