from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from apikeys.stale import apikeys_flag_stale
from audit.services import Actor


class Command(BaseCommand):
    help = (
        f"Flag active API keys not used for {settings.APIKEY_STALE_DAYS} days (APIKEY_STALE_DAYS; "
        "never-used keys count from creation, 'Keep active' restarts the clock) as stale, once "
        "per idle period, emailing the account owner the date of automatic suspension "
        f"({settings.APIKEY_SUSPEND_DAYS} idle days). Also sends the reminder "
        f"{settings.APIKEY_SUSPEND_REMINDER_DAYS} days before suspension, once. Keys in a "
        "rotation grace period are skipped. Runs daily from Celery beat too."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be flagged; change nothing."
        )

    def handle(self, *args, dry_run, **options):
        def progress(keys):
            return tqdm(keys, desc="Checking idle keys", unit="key", disable=not keys)

        result = apikeys_flag_stale(
            dry_run=dry_run,
            actor=Actor.system(label="manage.py flag_stale_keys"),
            progress=progress,
        )
        verb = "Would flag" if dry_run else "Flagged"
        self.stdout.write(
            f"{verb} {len(result['flagged'])} stale key(s): {', '.join(result['flagged']) or '-'}"
        )
        verb = "Would remind" if dry_run else "Sent reminders for"
        self.stdout.write(
            f"{verb} {len(result['reminded'])} key(s): {', '.join(result['reminded']) or '-'}"
        )
