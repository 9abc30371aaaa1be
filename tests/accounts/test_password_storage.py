"""Passwords are stored with the production hasher; the rest of the suite uses a fast one instead
(tests/conftest.py), so this is the test that keeps the real setting honest."""

import pytest
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher

from tests.conftest import FAST_PASSWORD_HASHERS, PASSWORD, make_user


@pytest.mark.password_hashing
def test_a_new_password_is_stored_with_a_slow_salted_hasher(db):
    user = make_user("hash@example.test", with_2fa=False)
    hasher = identify_hasher(user.password)
    assert hasher.algorithm == "pbkdf2_sha256"
    assert int(user.password.split("$")[1]) >= 600_000  # Django 5.2: 1,000,000 iterations
    assert not any("MD5" in name for name in settings.PASSWORD_HASHERS)
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_other_tests_use_the_fast_hasher(db):
    assert settings.PASSWORD_HASHERS == FAST_PASSWORD_HASHERS
    user = make_user("fast@example.test", with_2fa=False)
    assert identify_hasher(user.password).algorithm == "md5"
