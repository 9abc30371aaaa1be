"""No full key anywhere in the database after creating, rotating and revoking keys."""

import re
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from apikeys.models import ApiKey
from statuspool import api_key_format
from tests.apikeys.helpers import sudo_data
from tests.conftest import login

NEW_KEY = re.compile(r'<code id="new-key">(sp_live_[0-9A-Za-z]{40})</code>')


def every_column():
    """(table, column) for every column of every table, whatever its type."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                yield table, column.name


def places_holding(fragment: str) -> list[str]:
    found = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in every_column():
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote(table)} WHERE CAST({quote(column)} AS TEXT) LIKE %s",  # noqa: S608
                [f"%{fragment}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


@pytest.mark.django_db
def test_no_plaintext_key_in_any_column(client, alice, account_a):
    login(client, alice)
    keys = []
    created = client.post(
        reverse("apikeys:create"),
        sudo_data(alice, name="prod-monitoring-cli", scopes=["monitors:read"]),
    )
    keys.append(NEW_KEY.search(created.content.decode()).group(1))
    first = ApiKey.objects.get(public_id=api_key_format.public_id_of(keys[0]))
    rotated = client.post(
        reverse("apikeys:rotate", args=[first.public_id]), sudo_data(alice, expire_old_in="1h")
    )
    keys.append(NEW_KEY.search(rotated.content.decode()).group(1))
    client.post(reverse("apikeys:revoke", args=[first.public_id]), {"reason": "compromised"})

    out = StringIO()
    call_command(
        "createapikey",
        "--account",
        str(account_a.pk),
        "--name",
        "ops",
        "--scopes",
        "alerts:read",
        stdout=out,
    )
    keys.append(out.getvalue().strip().split("\n")[-1])
    out = StringIO()
    call_command("rotateapikey", api_key_format.public_id_of(keys[-1]), stdout=out)
    keys.append(out.getvalue().strip().split("\n")[-1])
    call_command("revokeapikey", api_key_format.public_id_of(keys[-1]), stdout=StringIO())

    assert len(set(keys)) == 4 and all(api_key_format.is_well_formed(raw) for raw in keys)
    assert ApiKey.objects.count() == 4
    assert len(list(every_column())) > 50  # the scan really covers the schema
    for raw in keys:
        secret_part = raw[len(api_key_format.PREFIX) + api_key_format.PUBLIC_ID_LENGTH :]
        assert places_holding(raw) == []
        assert places_holding(secret_part) == []
        for session in Session.objects.all():
            assert raw not in str(session.get_decoded())


@pytest.mark.django_db
def test_scan_finds_a_planted_key(account_a):
    """The scan is able to fail: a key written into a text column is found."""
    raw = api_key_format.generate()
    account_a.name = f"leak {raw}"
    account_a.save()
    assert places_holding(raw) == ["accounts_account.name"]
