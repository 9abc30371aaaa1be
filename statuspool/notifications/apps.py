from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "statuspool.notifications"
    label = "notifications"
    verbose_name = "Notifications"
