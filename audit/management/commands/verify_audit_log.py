from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.chain import chain_keys, verify_all
from audit.models import AuditEvent
from statuspool.accounts.management.arguments import account_from


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chains. For each account (or only --account), every event "
        "must hash to its stored hash and chain to the previous event's hash; the first event must "
        "chain to the retention anchor, the last must be the chain head record() wrote. Exits 0 "
        "when every chain is intact, 1 naming the first broken event of each broken chain (an "
        "altered, deleted or inserted row)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", help="Account id or exact name (default: every chain).")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, account=None, no_progress=False, **options):
        account_id = account_from(account).pk if account else None
        keys = chain_keys(account_id)
        events = AuditEvent.objects.filter(
            **({"account_id": account_id} if account_id else {})
        ).count()
        with tqdm(
            total=events, unit="event", disable=no_progress, file=self.stderr._out
        ) as progress:
            breaks = verify_all(account_id, progress=progress)
        if breaks:
            for found in breaks:
                self.stderr.write(f"BROKEN {found}")
            raise CommandError(
                f"{len(breaks)} of {len(keys)} audit chain(s) broken; first break: {breaks[0]}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"OK: {len(keys)} chain(s), {events} event(s) verified.")
        )
