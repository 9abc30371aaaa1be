import json

from django.core.management.base import BaseCommand, CommandError

from statuspool.health.checks import CHECKS, run_checks


class Command(BaseCommand):
    help = (
        "Report the health of the database, Redis, the broker, beat (its last tick) and the email "
        "outbox as JSON; exit 1 when any requested check fails (a container healthcheck)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="append",
            choices=list(CHECKS),
            help="Run only this check (repeatable). Default: all.",
        )

    def handle(self, *args, check=None, **options):
        healthy, report = run_checks(check)
        self.stdout.write(json.dumps(report, indent=2))
        if not healthy:
            raise CommandError(
                "unhealthy: "
                + ", ".join(name for name, entry in report["checks"].items() if not entry["ok"])
            )
