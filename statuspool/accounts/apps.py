from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "statuspool.accounts"
    label = "accounts"
    verbose_name = "Accounts"
