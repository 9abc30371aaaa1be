from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from apikeys.stale import apikeys_suspend_stale
from audit.services import Actor


class Command(BaseCommand):
    help = (
        f"Suspend active API keys not used for {settings.APIKEY_SUSPEND_DAYS} days "
        "(APIKEY_SUSPEND_DAYS; never-used keys count from creation, 'Keep active' restarts the "
        "clock) whose owner was emailed the stale warning for this idle period at least "
        f"{settings.APIKEY_SUSPEND_REMINDER_DAYS} days ago. Suspended keys are refused with "
        "401 key_suspended until a team admin reactivates them. Each suspension is audited "
        "and emailed to the owner. Runs daily from Celery beat too."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be suspended; change nothing."
        )

    def handle(self, *args, dry_run, **options):
        def progress(keys):
            return tqdm(keys, desc="Checking idle keys", unit="key", disable=not keys)

        suspended = apikeys_suspend_stale(
            dry_run=dry_run,
            actor=Actor.system(label="manage.py suspend_stale_keys"),
            progress=progress,
        )
        verb = "Would suspend" if dry_run else "Suspended"
        self.stdout.write(f"{verb} {len(suspended)} key(s): {', '.join(suspended) or '-'}")
