"""Installs are reproducible: pyproject.toml bounds every dependency, the two lock files pin each
one with hashes at the same versions, and every install path (make install, CI, the image) uses them."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DEPENDENCIES = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]
DEV = [Requirement(line) for line in PYPROJECT["project"]["optional-dependencies"]["dev"]]
_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def locked(name: str) -> dict:
    """{package: version} of a lock file; asserts every pin carries at least one hash."""
    pins, current, hashes = {}, None, {}
    for line in (ROOT / name).read_text().splitlines():
        if line.startswith((" ", "#")) or not line.strip():
            if current and "--hash=sha256:" in line:
                hashes[current] = hashes.get(current, 0) + 1
            continue
        match = _PIN.match(line)
        assert match, f"{name}: not an exact pin: {line!r}"
        current = canonicalize_name(match.group(1).split("[")[0])
        pins[current] = match.group(2)
    assert pins and set(hashes) == set(pins), f"{name}: pins without hashes"
    return pins


# Calendar-versioned copies of Swagger UI and Redoc's static files: no API to break.
UNBOUNDED = {"drf-spectacular-sidecar"}


def test_every_dependency_has_an_upper_bound():
    for requirement in DEPENDENCIES + DEV:
        if requirement.name in UNBOUNDED:
            continue
        operators = {spec.operator for spec in requirement.specifier}
        assert operators & {"<", "==", "~="}, f"{requirement} has no upper bound"


def test_the_locks_pin_every_dependency_within_its_bounds():
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    for requirement in DEPENDENCIES:
        name = canonicalize_name(requirement.name)
        assert requirement.specifier.contains(runtime[name]), (requirement, runtime[name])
    for requirement in DEV:
        name = canonicalize_name(requirement.name)
        assert requirement.specifier.contains(dev[name]), (requirement, dev[name])
    # The image runs what the suite tested: the same version of every runtime package.
    assert {name: dev[name] for name in runtime} == runtime


def test_every_install_uses_the_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r requirements-dev.lock" in makefile
    assert re.search(r"^\$\(STAMP\): pyproject.toml requirements-dev.lock$", makefile, re.M)
    assert "make install" in (ROOT / ".ci" / "run").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "pip install ." not in dockerfile


def test_gunicorn_opens_no_control_socket_shared_between_instances(tmp_path):
    """gunicorn ≥ 25.1 creates ~/.gunicorn/gunicorn.ctl, one per user, shared by every instance."""
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("XDG_RUNTIME_DIR", None)
    command = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1"]
    command += ["--log-level", "debug", "-c", "python:statuspool.gunicorn_conf"]
    server = subprocess.Popen(
        [*command, "statuspool.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The master decides about the socket once its first workers are spawned, and logs it.
        decision = next((line for line in server.stderr if "ontrol socket" in line), "")
        assert "Control socket disabled" in decision, decision
        assert not (tmp_path / ".gunicorn").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
