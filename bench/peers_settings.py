"""Settings of the peers benchmark's server (``bench.peers`` only, through DJANGO_SETTINGS_MODULE).

The real application plus what only the peers need: DRF's ``rest_framework.authtoken`` (its
plaintext Token table) and the bench-only URL module. Production settings never load either.
"""

from statuspool.settings import *  # noqa: F403
from statuspool.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]
ROOT_URLCONF = "bench.peers_urls"
