"""Settings for the test suite: the project's settings, with data the suite owns.

Imported by pytest-django (pyproject: DJANGO_SETTINGS_MODULE) before anything else reads the
environment, so ``statuspool.settings`` sees it:

* ``STATUSPOOL_VAR_DIR`` is a fresh temporary folder per test session, removed afterwards: spool
  files, the file cache, the beat schedule and mail never land in the checkout's ``var/``, where
  the next ``make run`` would import them into the demo account.
* ``CACHE_KEY_PREFIX`` is unique per session, and every Redis key the application and the broker
  write starts with it; the suite's cleanup deletes only keys under that prefix
  (``tests.conftest.clear_own_keys``), never the database ``REDIS_URL`` names.

Processes the tests start inherit the environment (``STATUSPOOL_TEST_RUN`` marks it), so they share
the session's folder and prefix instead of making their own.
"""

import atexit
import os
import secrets
import shutil
import tempfile

if not os.environ.get("STATUSPOOL_TEST_RUN"):
    _run = secrets.token_hex(6)
    _var = tempfile.mkdtemp(prefix=f"statuspool-test-{_run}-")
    os.environ.update(
        STATUSPOOL_TEST_RUN=_run,
        STATUSPOOL_VAR_DIR=_var,
        CACHE_KEY_PREFIX=f"sptest-{_run}",
    )
    _owner = os.getpid()
    # Only the session that made the folder removes it (a forked child exits through atexit too).
    atexit.register(lambda: os.getpid() == _owner and shutil.rmtree(_var, ignore_errors=True))

from statuspool.settings import *  # noqa: E402, F403
from statuspool.settings import CACHES, CELERY_BROKER_TRANSPORT_OPTIONS, REDIS_URL  # noqa: E402

TEST_KEY_PREFIX = CACHES["default"].get("KEY_PREFIX", "")
if REDIS_URL:
    # The broker's queues and bindings too (kombu's redis transport), should a test start a worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": f"{TEST_KEY_PREFIX}:broker:",
    }
