"""Shared fixtures: Alice (owner of account A), Bob (admin in A), Charlie (owner of account B).

Tests that need the real PostgreSQL or Redis are marked ``postgres`` / ``redis`` and skip when
DATABASE_URL / REDIS_URL do not point at them; CI sets both and fails when such a test is skipped.
"""

import logging
import os
import shutil
import time

import pyotp
import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from statuspool.accounts.models import Account, Membership, Role, TOTPDevice, User
from statuspool.credential_format import CREDENTIAL_PATTERN

# The /v2 fixtures (bearer credentials of every kind, seeded accounts, a JSON client), for the
# endpoint tests that live with their app (tests/monitoring/test_api_*.py, tests/apikeys/test_api.py…).
# The /v2 fixtures; private PostgreSQL / Redis / gunicorn processes for the fault tests.
pytest_plugins = ["tests.api.fixtures", "tests.processes"]

PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config, items):
    needs_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…")
    needs_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://…")
    on_pg = os.environ.get("DATABASE_URL", "").startswith("postgres")
    on_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_pg:
            item.add_marker(needs_pg)
        if "redis" in item.keywords and not on_redis:
            item.add_marker(needs_redis)


# A whole (or truncated) API key or OAuth token: the application's one pattern.
_CREDENTIAL = CREDENTIAL_PATTERN


class _CredentialLeakWatch(logging.Handler):
    """Collects every log record whose text (message or traceback) carries a whole credential."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.leaks: list[str] = []

    def emit(self, record):
        text = self.format(record)
        if _CREDENTIAL.search(text):
            self.leaks.append(text[:300])


@pytest.fixture(autouse=True)
def _no_credential_in_logs():
    """No test may make the application log a full API key or OAuth token (at the configured
    log levels, i.e. what production writes)."""
    watch = _CredentialLeakWatch()
    root = logging.getLogger()
    root.addHandler(watch)
    try:
        yield
    finally:
        root.removeHandler(watch)
    assert not watch.leaks, f"a credential was logged: {watch.leaks}"


# PBKDF2 is deliberately slow (~0.25 s a password here); hundreds of fixture users made it most of
# the suite's time. Tests about how passwords are stored opt out with @pytest.mark.password_hashing.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    if request.node.get_closest_marker("password_hashing") is None:
        settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


def clear_own_keys(backend=None) -> int:
    """Delete this session's cache keys (tests/settings.py gives it its own prefix); return how many.

    Django's ``RedisCache.clear()`` is FLUSHDB: it would empty the whole database ``REDIS_URL``
    names, and with it the data of a ``make run`` or another suite using the same database.
    """
    backend = backend or caches["default"]
    if not isinstance(backend, RedisCache):
        backend.clear()  # the file cache lives in the session's own temporary var/
        return 0
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert prefix == settings.TEST_KEY_PREFIX and prefix.startswith("sptest-"), prefix
    client = backend._cache.get_client(write=True)
    names = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(names), 500):
        client.unlink(*names[start : start + 500])
    return len(names)


# Any cache.clear() in a test (or a library it calls) deletes only the session's keys, never FLUSHDB.
RedisCache.clear = clear_own_keys


@pytest.fixture(autouse=True)
def _clean_cache():
    from statuspool.sharedcache import background

    background.discard()
    clear_own_keys()
    _clear_usage_spool()
    yield
    background.discard()  # bookkeeping this test's requests left for the sender thread
    clear_own_keys()
    _clear_usage_spool()


def _clear_usage_spool():
    """Usage records a test spooled (its Redis down, or no Redis at all: then every record is
    spooled) must not reach another test's flush."""
    from usage import lastused, requestlog

    shutil.rmtree(lastused.spool_dir(), ignore_errors=True)
    # The request log's too: ids restart after a rollback (SQLite), so a leftover entry of
    # another test's key would be counted for this test's key of the same id.
    shutil.rmtree(requestlog.spool_dir(), ignore_errors=True)


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    from statuspool.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


def make_user(email, *, with_2fa=True, password=PASSWORD, full_name=""):
    user = User.objects.create_user(email, password, full_name=full_name)
    if with_2fa:
        from django.utils import timezone

        TOTPDevice.objects.create(
            user=user, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )
    return user


def totp_now(user, *, for_time=None):
    """A currently valid code for the user's authenticator."""
    device = TOTPDevice.objects.get(user=user)
    totp = pyotp.TOTP(device.secret)
    return totp.at(for_time) if for_time is not None else totp.now()


@pytest.fixture
def account_a(db):
    return Account.objects.create(
        name="Acme Monitoring", plan="team", billing_email="billing@acme.test"
    )


@pytest.fixture
def account_b(db):
    return Account.objects.create(
        name="Bravo Labs", plan="team", billing_email="billing@bravo.test"
    )


@pytest.fixture
def alice(account_a):
    user = make_user("alice@acme.test", full_name="Alice Owner")
    Membership.objects.create(user=user, account=account_a, role=Role.OWNER)
    return user


@pytest.fixture
def bob(account_a):
    user = make_user("bob@acme.test", full_name="Bob Admin")
    Membership.objects.create(user=user, account=account_a, role=Role.ADMIN)
    return user


@pytest.fixture
def mallory(account_a):
    """A plain member of account A (read-only on monitoring, no credential screens)."""
    user = make_user("mallory@acme.test", full_name="Mallory Member")
    Membership.objects.create(user=user, account=account_a, role=Role.MEMBER)
    return user


@pytest.fixture
def charlie(account_b):
    user = make_user("charlie@bravo.test", full_name="Charlie Other")
    Membership.objects.create(user=user, account=account_b, role=Role.OWNER)
    return user


def login(client, user):
    """Log a user in as if password and 2FA had both been passed."""
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(client, alice):
    return login(client, alice)


@pytest.fixture
def db_vendor(db):
    return connection.vendor


@pytest.fixture
def digest_settings():
    return settings.DIGEST_PEPPERS


@pytest.fixture
def sender_waits():
    """The sender thread does not send on its own during the test (its interval: an hour)."""
    from statuspool.sharedcache import background

    interval = background.interval
    background.interval = 3600
    background._wake.set()  # a wait already under way ends, the next one takes the hour
    time.sleep(0.05)
    yield
    background.interval = interval
    background._wake.set()
