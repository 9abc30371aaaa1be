"""The request log moved from audit to usage (issue 9): its rows and their ids survive."""

from datetime import UTC, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from usage.models import RequestLog

AUDIT_BEFORE = ("audit", "0002_chain_requestlog")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_after_it(account_a):
    loader = _migrate([AUDIT_BEFORE, ("usage", None)])
    OldRequestLog = loader.project_state([AUDIT_BEFORE]).apps.get_model("audit", "RequestLog")
    old = OldRequestLog.objects.create(
        occurred_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
        account_id=account_a.pk,
        credential_kind="api_key",
        credential_id=7,
        method="GET",
        path="/v2/monitors",
        status=200,
        ip="192.0.2.1",
    )

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    moved = RequestLog.objects.get()
    assert (moved.pk, moved.path, moved.account_id) == (old.pk, "/v2/monitors", account_a.pk)
    assert RequestLog._meta.db_table == "usage_requestlog"
    assert "audit_requestlog" not in connection.introspection.table_names()
    # New rows continue the same id sequence.
    newer = RequestLog.objects.create(
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
        account_id=account_a.pk,
        credential_kind="api_key",
        credential_id=7,
        method="GET",
        path="/v2/monitors",
        status=200,
    )
    assert newer.pk > old.pk
    assert ContentType.objects.get_for_model(RequestLog).app_label == "usage"
