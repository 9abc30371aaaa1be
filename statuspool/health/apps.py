from django.apps import AppConfig


class HealthConfig(AppConfig):
    """`manage.py health`, `/healthz` and beat's heartbeat: is every process doing its work?

    At the project level: it looks at the database, Redis, the broker, beat and the email outbox.
    """

    name = "statuspool.health"
    label = "health"
    verbose_name = "Health"
