"""TOTP (RFC 6238) maths, single use, and one code raced from two requests."""

import threading
import time

import pyotp
import pytest
from django.db import connections

from statuspool.accounts import recovery, totp
from statuspool.accounts.models import RecoveryCode, TOTPDevice
from tests.accounts.conftest import code_at_step

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_rfc6238_parameters():
    generator = pyotp.TOTP(SECRET)
    now = time.time()
    assert totp.matching_step(SECRET, generator.at(now), now) == totp.current_step(now)
    assert len(generator.at(now)) == 6


@pytest.mark.parametrize(
    "offset, accepted", [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_one_step_of_drift_either_way(offset, accepted):
    now = time.time()
    code = pyotp.TOTP(SECRET).at(now + offset * 30)
    step = totp.matching_step(SECRET, code, now)
    assert (step == totp.current_step(now) + offset) if accepted else step is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_never_match(code):
    assert totp.matching_step(SECRET, code) is None


def test_spaces_are_forgiven():
    code = pyotp.TOTP(SECRET).now()
    assert totp.matching_step(SECRET, f" {code[:3]} {code[3:]} ") == totp.current_step()


@pytest.mark.django_db
def test_verify_and_consume_is_single_use(alice):
    code = code_at_step(alice)
    assert totp.verify_and_consume(alice, code) is totp.Check.ACCEPTED
    assert totp.verify_and_consume(alice, code) is totp.Check.REPLAYED
    assert totp.verify_and_consume(alice, code_at_step(alice, -1)) is totp.Check.REPLAYED
    assert totp.verify_and_consume(alice, code_at_step(alice, 1)) is totp.Check.ACCEPTED
    assert TOTPDevice.objects.get(user=alice).last_used_step == totp.current_step() + 1


@pytest.mark.django_db
def test_unconfirmed_device_does_not_count(alice):
    TOTPDevice.objects.filter(user=alice).update(confirmed_at=None)
    assert totp.verify_and_consume(alice, code_at_step(alice)) is totp.Check.NO_DEVICE


@pytest.mark.django_db
def test_recovery_codes_are_single_use_and_stored_as_digests(alice):
    codes = recovery.replace_all(alice)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = " ".join(RecoveryCode.objects.filter(user=alice).values_list("digest", flat=True))
    assert all(code not in stored and code.replace("-", "") not in stored for code in codes)
    assert recovery.consume(alice, codes[0].upper())
    assert not recovery.consume(alice, codes[0])
    assert not recovery.consume(alice, "00000-00000")
    assert recovery.remaining(alice) == 9


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_code_raced_by_two_requests_wins_once(alice):
    code = code_at_step(alice)
    barrier = threading.Barrier(4)
    results = []

    def attempt():
        try:
            barrier.wait()
            results.append(totp.verify_and_consume(alice, code))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.value for r in results) == ["accepted", "replayed", "replayed", "replayed"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_recovery_code_raced_by_two_requests_wins_once(alice):
    [code] = recovery.replace_all(alice)[:1]
    barrier = threading.Barrier(4)
    results = []

    def attempt():
        try:
            barrier.wait()
            results.append(recovery.consume(alice, code))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
