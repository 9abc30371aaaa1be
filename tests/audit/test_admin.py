"""Operators read the trail in the admin, and cannot change or delete it there."""

import pytest

from audit.models import AuditEvent
from tests.conftest import make_user


@pytest.fixture
def operator(client, db):
    user = make_user("ops@statuspool.test")
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def test_the_admin_lists_events_read_only(operator, events_a):
    listing = operator.get("/admin/audit/auditevent/")
    assert listing.status_code == 200
    assert "alice@acme.test" in listing.content.decode()
    assert operator.get("/admin/audit/auditevent/add/").status_code == 403
    event = events_a[0]
    delete = operator.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    detail = operator.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "x"})
    assert detail.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "apikey.created"


def test_the_request_log_is_read_only_too(operator):
    assert operator.get("/admin/usage/requestlog/").status_code == 200
    assert operator.get("/admin/usage/requestlog/add/").status_code == 403
