from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "statuspool.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from statuspool.accounts.middleware import stamp_session_at_login

        user_logged_in.connect(stamp_session_at_login, dispatch_uid="accounts.idle_stamp")
