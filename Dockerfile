# The StatusPool image used by docker-compose.yml for web, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    STATUSPOOL_VAR_DIR=/var/lib/statuspool

WORKDIR /app
COPY . .
# Installs the dependencies from pyproject.toml. The source tree in /app (with templates, static
# files and manage.py, which the wheel does not carry) is what runs: PYTHONPATH puts it first.
RUN pip install .

RUN useradd --system --home-dir /app --shell /usr/sbin/nologin statuspool \
    && mkdir -p /var/lib/statuspool \
    && chown statuspool /var/lib/statuspool
USER statuspool

EXPOSE 8000
CMD ["gunicorn", "statuspool.wsgi:application", "--bind", "0.0.0.0:8000"]
