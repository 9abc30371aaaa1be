"""docker-compose.yml describes the production-like stack without carrying a single secret."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat")
INTERPOLATION = re.compile(r"^\$\{[A-Z_]+(:?[-?][^}]*)?\}$")


def command_of(service) -> str:
    command = SERVICES[service].get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_the_stack_has_every_service():
    assert set(SERVICES) == {"postgres", "redis", "nginx", "web", "worker", "beat", "mailpit"}
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert SERVICES["redis"]["image"] == "redis:7"
    assert SERVICES["mailpit"]["image"].startswith("axllent/mailpit")
    assert "8025:8025" in SERVICES["mailpit"]["ports"]


def test_web_migrates_collects_static_and_serves_with_gunicorn():
    command = command_of("web")
    assert command.index("migrate --noinput") < command.index("collectstatic --noinput")
    assert command.index("collectstatic") < command.index("gunicorn statuspool.wsgi:application")
    assert "--bind 0.0.0.0:8000" in command
    # Only nginx is published; gunicorn is reached through it.
    assert "ports" not in SERVICES["web"] and SERVICES["web"]["expose"] == ["8000"]
    assert SERVICES["nginx"]["ports"] == ["8000:8080"]


def test_worker_and_exactly_one_beat_run_celery():
    assert command_of("worker").startswith("celery -A statuspool worker")
    assert command_of("beat").startswith("celery -A statuspool beat")
    beats = [name for name in SERVICES if re.search(r"celery .*\bbeat\b", command_of(name))]
    assert beats == ["beat"]
    assert "deploy" not in SERVICES["beat"]  # never scaled


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_build_the_image_and_read_the_operators_env_file(service):
    config = SERVICES[service]
    assert config["build"] == "."
    assert config["env_file"] == ".env.production"
    assert config["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert config["depends_on"]["redis"]["condition"] == "service_healthy"


def test_app_services_share_database_redis_and_production_mode():
    environments = [SERVICES[name]["environment"] for name in APP_SERVICES]
    for variable in ("DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "STATUSPOOL_ENV"):
        assert len({env[variable] for env in environments}) == 1, variable
    env = environments[0]
    assert env["STATUSPOOL_ENV"] == "production"
    assert env["DATABASE_URL"].startswith("postgres://statuspool:${POSTGRES_PASSWORD")
    assert env["DATABASE_URL"].endswith("@postgres:5432/statuspool")
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert (env["EMAIL_HOST"], env["EMAIL_PORT"]) == ("mailpit", "1025")


def test_no_secret_literal_in_the_file():
    secret_names = re.compile(r"SECRET|PASSWORD|PEPPER|ENCRYPTION|TOKEN|API_KEY")
    for name, config in SERVICES.items():
        for variable, value in (config.get("environment") or {}).items():
            if secret_names.search(variable):
                assert INTERPOLATION.match(str(value)), f"{name}.{variable} holds a literal"
    # The application's own secrets come from the env file only, not even as interpolations.
    for config in SERVICES.values():
        environment = config.get("environment") or {}
        assert not {"SECRET_KEY", "DIGEST_PEPPERS", "ENCRYPTION_KEYS"} & set(environment)
    # The password inside DATABASE_URL is an interpolation, not a value.
    url = SERVICES["web"]["environment"]["DATABASE_URL"]
    password = url.split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[1]
    assert INTERPOLATION.match(password)
    # Nothing that looks like a generated key (long base64 runs) anywhere in the text.
    assert not re.findall(r"[A-Za-z0-9+_=-]{32,}", COMPOSE_TEXT)


def test_the_image_never_contains_the_env_files():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".env.*" in ignored
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert "RUN pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "USER statuspool" in dockerfile


# --- topology: nginx, Redis memory, restarts, healthchecks (issue 11 item 8) -------------------
NGINX_CONF = (ROOT / "deploy" / "nginx.conf").read_text()


def test_nginx_buffers_requests_and_responses_in_front_of_gunicorn():
    nginx = SERVICES["nginx"]
    assert nginx["image"].startswith("nginx:1.")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"]["web"]["condition"] == "service_healthy"
    assert re.search(r"^\s*server web:8000;", NGINX_CONF, re.M)
    assert re.search(r"^\s*listen 8080;", NGINX_CONF, re.M)
    for directive in ("proxy_request_buffering on;", "proxy_buffering on;"):
        assert directive in NGINX_CONF
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert re.search(rf"^\s*{timeout} \d+s;", NGINX_CONF, re.M), timeout
    # Larger than Django's upload limit, so /v2 answers an oversized body itself (JSON 413).
    from django.conf import settings

    size = re.search(r"client_max_body_size (\d+)m;", NGINX_CONF)
    assert size and int(size.group(1)) * 1024 * 1024 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in NGINX_CONF
    # Never the query string or referer in nginx's log either.
    log_format = re.search(r"log_format combined_no_query (.*?);", NGINX_CONF, re.S).group(1)
    assert (
        "$uri" in log_format and "$request " not in log_format and "$request_uri" not in log_format
    )
    assert (
        "$http_referer" not in log_format
        and "access_log /dev/stdout combined_no_query;" in NGINX_CONF
    )


def test_only_nginx_is_a_trusted_proxy():
    import ipaddress

    address = SERVICES["nginx"]["networks"]["default"]["ipv4_address"]
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
    for name in APP_SERVICES:
        assert SERVICES[name]["environment"]["TRUSTED_PROXIES"] == f"{address}/32"


def test_redis_memory_is_bounded_without_evicting_limits_or_revocations():
    command = SERVICES["redis"]["command"]
    assert command[:3] == ["redis-server", "--appendonly", "yes"]
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert re.match(r"^\$\{REDIS_MAXMEMORY:-\d+mb\}$", options["--maxmemory"])
    # noeviction: a full Redis refuses writes (the app falls back) instead of silently dropping a
    # rate-limit counter, a revocation or a queued task.
    assert options["--maxmemory-policy"] == "noeviction"


def test_every_service_restarts_unless_stopped():
    for name, config in SERVICES.items():
        assert config["restart"] == "unless-stopped", name
    for name in APP_SERVICES:
        assert SERVICES[name]["init"] is True


def test_healthchecks_use_healthz_and_manage_py_health():
    web = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz?check=database" in web
    worker = " ".join(SERVICES["worker"]["healthcheck"]["test"])
    assert worker.startswith("CMD python manage.py health")
    assert all(f"--check {name}" in worker for name in ("broker", "database", "outbox"))
    beat = " ".join(SERVICES["beat"]["healthcheck"]["test"])
    assert beat == "CMD python manage.py health --check beat"
    assert "/healthz" in " ".join(SERVICES["nginx"]["healthcheck"]["test"])
    assert SERVICES["worker"]["stop_grace_period"] == "60s"
