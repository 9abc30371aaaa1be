"""Secrets at rest: after a whole OAuth flow, no token, code or client secret is in any column."""

import pytest
from django.db import connection

from tests.conftest import PASSWORD, login, totp_now
from tests.oauthapps.helpers import exchange_code, obtain_code, refresh

pytestmark = pytest.mark.django_db


def _every_cell():
    """Every value of every table, through raw SQL (no model field can hide a column)."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names from introspection
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        text = (
                            bytes(value).decode("latin-1")
                            if isinstance(value, memoryview)
                            else str(value)
                        )
                        yield table, column, text


def test_no_plaintext_secret_anywhere_after_the_flow(client, alice, account_a):
    login(client, alice)
    registered = client.post(
        "/settings/oauth-applications/new/",
        {
            "name": "PagerDuty Sync",
            "description": "Syncs incidents.",
            "redirect_uris": "https://hooks.internal.example.com/callback",
        },
    )
    app = registered.context["application"]
    first_secret = registered.context["client_secret"]
    reset = client.post(
        f"/settings/oauth-applications/{app.pk}/reset-secret/",
        {"password": PASSWORD, "otp_code": totp_now(alice)},
    )
    secret = reset.context["client_secret"]
    code, verifier = obtain_code(client, app, account=account_a)
    issued = exchange_code(client, app, secret, code, verifier).json()
    rotated = refresh(client, app, secret, issued["refresh_token"]).json()
    assert (
        client.get(
            "/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {rotated['access_token']}"
        ).status_code
        == 200
    )
    exchange_code(client, app, secret, code, verifier)  # a replay, audited paths included
    refresh(client, app, secret, issued["refresh_token"])  # reuse detection
    secrets = {
        "first client secret": first_secret,
        "client secret": secret,
        "authorization code": code,
        "code verifier": verifier,
        "access token": issued["access_token"],
        "refresh token": issued["refresh_token"],
        "rotated access token": rotated["access_token"],
        "rotated refresh token": rotated["refresh_token"],
    }
    cells = list(_every_cell())
    scanned = {table for table, _, _ in cells}  # the scan really read the rows of the flow
    assert {"oauthapps_application", "oauthapps_grant", "oauthapps_refreshtoken"} <= scanned
    assert {"oauthapps_authorization", "audit_auditevent"} <= scanned
    leaks = [
        (name, table, column)
        for table, column, text in cells
        for name, value in secrets.items()
        if value in text
    ]
    assert leaks == []
