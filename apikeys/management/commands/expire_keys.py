from django.core.management.base import BaseCommand

from apikeys.expiry import REMINDER_DAYS, apikeys_expire
from audit.services import Actor


class Command(BaseCommand):
    help = (
        "What the hourly beat job does: email the owner and creator of each key expiring within "
        f"{' or '.join(str(d) for d in REMINDER_DAYS)} days (each reminder once, only if the key "
        "was created before that point), and record every key past its expiry date once "
        "(audit event apikey.expired, email to the account's admins). Keys are refused from their "
        "expiry instant whether or not this runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would happen.")

    def handle(self, *args, dry_run, **options):
        result = apikeys_expire(dry_run=dry_run, actor=Actor.system(label="manage.py expire_keys"))
        prefix = "Would remind" if dry_run else "Reminded"
        self.stdout.write(f"{prefix}: {', '.join(result['reminded']) or 'none'}")
        prefix = "Would record as expired" if dry_run else "Recorded as expired"
        self.stdout.write(f"{prefix}: {', '.join(result['expired']) or 'none'}")
