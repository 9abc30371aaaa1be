from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    """Sign-up, createaccount and the demo data: an account, its owner and its default API key.

    At the project level (DESIGN.md "Layers") because creating an account spans two apps that must
    not know each other: ``accounts`` (the account and owner) and ``apikeys`` (the default key).
    """

    name = "statuspool.onboarding"
    label = "onboarding"
    verbose_name = "Onboarding"
