from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from statuspool.onboarding import demo


class Command(BaseCommand):
    help = (
        f"Create the demo account “{demo.DEMO_ACCOUNT_NAME}” (Enterprise plan) once: its owner "
        f"{demo.DEMO_OWNER_EMAIL} with 2FA, an admin and a member, monitors with 90 days of uptime "
        "history, incidents, notification channels, alert rules and dispatches, and its default "
        "API key (printed once). Does nothing when the demo account exists already; "
        "`manage.py demo_login_help` shows how to log in."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only say whether the demo account would be created.",
        )

    def handle(self, *args, dry_run=False, **options):
        if settings.PRODUCTION:
            # The demo people have published passwords (and the demo admin no second factor).
            raise CommandError(
                "seed_demo refuses to run with STATUSPOOL_ENV=production: the demo users' "
                "passwords are published. Use `manage.py createaccount` for real accounts."
            )
        existing = demo.demo_account()
        if existing is not None:
            self.stdout.write(
                f"Demo account “{existing.name}” exists already (id {existing.pk}); nothing changed."
            )
            return
        if dry_run:
            self.stdout.write(f"Would create the demo account “{demo.DEMO_ACCOUNT_NAME}”.")
            return
        try:
            result = demo.seed_demo()
        except ValueError as error:
            raise CommandError(str(error))
        except IntegrityError:
            # Another process (a second `make run`) seeded the same people a moment ago.
            if demo.demo_account() is None:
                raise
            result = demo.SeedResult(created=False, account=demo.demo_account())
        if not result.created:
            self.stdout.write(
                f"Demo account “{result.account.name}” exists already; nothing changed."
            )
            return
        summary = ", ".join(f"{count} {what}" for what, count in result.counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Created demo account “{result.account.name}” ({summary}).")
        )
        self.stdout.write(
            "Default API key (shown this once; it is stored only as a digest):\n"
            f"  {result.default_key}"
        )
        self.stdout.write("Log in as the demo owner: python manage.py demo_login_help")
