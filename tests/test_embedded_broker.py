"""The embedded broker (no REDIS_URL) keeps all its folders under STATUSPOOL_VAR_DIR.

kombu's filesystem transport writes exchange bindings to ``control/`` in the working directory
unless told otherwise, which for `make run` was the root of the checkout.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DECLARE = """
import django
django.setup()
from kombu import Exchange, Queue
from statuspool.celery import app
with app.connection_for_write() as connection:
    Queue("probe", Exchange("probe", type="direct"), "probe")(connection.default_channel).declare()
print(app.conf.broker_url)
"""


def test_the_embedded_broker_writes_nothing_into_the_working_directory(tmp_path):
    cwd, var = tmp_path / "cwd", tmp_path / "var"
    cwd.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "statuspool.settings",
        "STATUSPOOL_ENV_FILE": "/nonexistent",
        "STATUSPOOL_VAR_DIR": str(var),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", DECLARE],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "filesystem://"
    assert list(cwd.iterdir()) == []
    assert (var / "celery" / "control" / "probe.exchange").exists()
