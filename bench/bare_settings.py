"""Settings of the pipeline benchmark's server: the real app plus one bench-only URL.

Only ``bench.pipeline`` uses it (through DJANGO_SETTINGS_MODULE for the gunicorn it starts).
"""

from statuspool.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
