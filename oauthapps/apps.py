from django.apps import AppConfig


class OAuthAppsConfig(AppConfig):
    name = "oauthapps"
    verbose_name = "OAuth applications"

    def ready(self):
        from oauthapps import signals  # noqa: F401  (connects the membership receiver)
