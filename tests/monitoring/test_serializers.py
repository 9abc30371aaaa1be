"""MonitorSerializer builds its output directly (issue 12): it must stay what DRF's own
field-by-field ``to_representation`` makes of the same declared fields."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from statuspool.monitoring.models import Incident, Monitor
from statuspool.monitoring.serializers import MonitorSerializer
from tests.monitoring.conftest import make_monitor


def drf_output(monitor) -> dict:
    """What DRF's generic ModelSerializer makes of the monitor, walking the declared fields."""
    return serializers.ModelSerializer.to_representation(MonitorSerializer(), monitor)


@pytest.fixture
def varied(account_a):
    up = make_monitor(account_a, "Up", created_at=datetime(2026, 3, 1, 12, 0, 5, 123456, UTC))
    down = make_monitor(
        account_a,
        "Down ünïcode",
        method=Monitor.Method.HEAD,
        interval_seconds=300,
        timeout_seconds=30,
        expected_status=204,
    )
    Incident.objects.create(
        account=account_a,
        monitor=down,
        started_at=timezone.now() - timedelta(minutes=5),
        cause="HTTP 500",
    )
    make_monitor(account_a, "Paused", paused=True, method="POST")
    return up


def test_the_list_rows_are_drfs_own(varied):
    monitors = list(Monitor.objects.with_open_incident())
    assert {m.current_status for m in monitors} == {"up", "down", "paused"}
    for monitor in monitors:
        assert MonitorSerializer(monitor).data == drf_output(monitor)


def test_the_field_set_is_the_declared_one(varied):
    """A field added to Meta.fields without the direct representation fails here."""
    monitor = Monitor.objects.with_open_incident().get(pk=varied.pk)
    assert list(MonitorSerializer(monitor).data) == list(MonitorSerializer().fields)


def test_without_the_annotation_and_in_another_time_zone(varied):
    """A detail read (no annotation: the status is asked for) under a non-UTC current zone."""
    monitor = Monitor.objects.get(pk=varied.pk)
    with timezone.override("Europe/Berlin"):
        ours = MonitorSerializer(monitor).data
        assert ours == drf_output(monitor)
    assert ours["created_at"] == "2026-03-01T13:00:05.123456+01:00"
    assert MonitorSerializer(monitor).data["created_at"] == "2026-03-01T12:00:05.123456Z"


def test_an_unsaved_choice_and_types(account_a):
    """Enum members and values not yet read back from the database come out as plain JSON."""
    monitor = Monitor(
        account=account_a,
        id=7,
        name="New",
        url="https://new.example/",
        method=Monitor.Method.POST,
        paused=0,
    )
    monitor.has_open_incident = False
    ours = MonitorSerializer(monitor).data
    assert ours == drf_output(monitor)
    assert type(ours["method"]) is str and ours["paused"] is False
