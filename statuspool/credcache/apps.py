from django.apps import AppConfig


class CredcacheConfig(AppConfig):
    name = "statuspool.credcache"
    label = "credcache"
    verbose_name = "Credential cache"
