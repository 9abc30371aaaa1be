"""A benchmark database that is kept between runs (loading millions of rows takes minutes), with
the run's own var/, cache prefix and Redis database (``bench.pipeline.Environment``).

``with kept_database("statuspool_bench") as name:`` creates the database on DATABASE_URL's
PostgreSQL server when missing, points Django at it (set up here if nobody did), and on the way
out puts the previous database back and empties the Redis database it claimed (which had to be
empty at the start). Returns None as the name when DATABASE_URL is not PostgreSQL.
"""

import os
import shutil
from contextlib import contextmanager
from urllib.parse import urlsplit

from bench.pipeline import Environment


def server_params():
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    return dj_database_url.parse(url)


def ensure_database(params, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def point_django_at(name: str):
    """Use the benchmark database, whether or not Django was set up by another benchmark;
    returns what puts the previous database back."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspool.settings")
    import django
    from django.conf import settings
    from django.db import connections

    if settings.configured:
        previous = connections["default"].settings_dict["NAME"]
    else:
        url = urlsplit(os.environ["DATABASE_URL"])
        os.environ["DATABASE_URL"] = url._replace(path=f"/{name}").geturl()
        previous = None
    django.setup()

    def use(database):
        connections["default"].close()
        connections["default"].settings_dict["NAME"] = database
        settings.DATABASES["default"]["NAME"] = database

    use(name)
    return lambda: use(previous) if previous else None


@contextmanager
def kept_database(name: str):
    params = server_params()
    if params is None:
        yield None
        return
    ensure_database(params, name)
    # Its own var/, cache prefix and Redis database, so the request log it flushes is its own
    # requests', never a running `make run`'s buffer.
    isolation = Environment()
    isolation.claim_redis()
    for variable in ("STATUSPOOL_VAR_DIR", "CACHE_KEY_PREFIX", "REDIS_URL"):
        if variable in isolation.env:
            os.environ[variable] = isolation.env[variable]
        else:
            os.environ.pop(variable, None)
    restore = point_django_at(name)
    try:
        yield name
    finally:
        restore()
        if isolation.redis_url:
            print(f"cleaned up: {isolation.release_redis()}")
        shutil.rmtree(isolation.tmp, ignore_errors=True)
