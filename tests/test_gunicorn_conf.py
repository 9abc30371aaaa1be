"""The access log format never records query strings or referers (where leaked credentials live)."""

from pathlib import Path

from statuspool import gunicorn_conf

ROOT = Path(__file__).resolve().parents[1]


def test_access_log_has_the_path_without_query_string_or_referer():
    fmt = gunicorn_conf.access_log_format
    assert "%(U)s" in fmt
    for leaky in ("%(r)s", "%(q)s", "%(f)s", "%({"):
        assert leaky not in fmt


def test_every_gunicorn_invocation_uses_the_shared_config():
    for path in (ROOT / "supervisord.conf", ROOT / "docker-compose.yml"):
        text = path.read_text()
        assert "python:statuspool.gunicorn_conf" in text, path
        assert "--access-logformat" not in text and "--access-logfile" not in text, path
