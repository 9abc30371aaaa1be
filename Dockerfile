# The StatusPool image used by docker-compose.yml for web, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    STATUSPOOL_VAR_DIR=/var/lib/statuspool

WORKDIR /app
# Exactly the hash-checked versions of requirements.lock (`make lock` writes it from pyproject.toml),
# in their own layer so a source change does not reinstall them. The source tree in /app (with
# templates, static files and manage.py) is what runs, through PYTHONPATH: no wheel of it is built.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY . .

RUN useradd --system --home-dir /app --shell /usr/sbin/nologin statuspool \
    && mkdir -p /var/lib/statuspool \
    && chown statuspool /var/lib/statuspool
USER statuspool

EXPOSE 8000
CMD ["gunicorn", "statuspool.wsgi:application", "--bind", "0.0.0.0:8000"]
