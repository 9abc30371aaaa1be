from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit import checkpoints
from audit.chain import chain_keys, verify_all
from audit.models import AuditEvent
from statuspool.accounts.management.arguments import account_from


class Command(BaseCommand):
    help = (
        "Verify the audit trail's keyed hash chains. For each account (or only --account), every "
        "event must carry its HMAC (AUDIT_KEYS) and chain to the previous event's hash; the first "
        "event must chain to the retention anchor, the last must be the chain head record() "
        "wrote. Prints each chain's head as an `audit-checkpoint` line to keep outside the "
        "database; --checkpoint FILE checks that the log still extends the heads in FILE. Exits "
        "0 when everything holds, 1 naming the first break of each broken chain (an altered, "
        "deleted or inserted row) or checkpoint."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", help="Account id or exact name (default: every chain).")
        parser.add_argument(
            "--checkpoint",
            metavar="FILE",
            help="A file of audit-checkpoint lines printed by an earlier run.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, account=None, checkpoint=None, no_progress=False, **options):
        account_id = account_from(account).pk if account else None
        expected = self._read(checkpoint) if checkpoint else []
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
        failed = self._check(expected, account_id)
        if failed:
            raise CommandError(f"{failed} of {len(expected)} checkpoint(s) not extended by the log")
        self.stdout.write(
            self.style.SUCCESS(f"OK: {len(keys)} chain(s), {events} event(s) verified.")
        )
        if expected:
            self.stdout.write(f"OK: the log extends all {len(expected)} checkpoint(s).")
        for head in checkpoints.heads(keys):
            self.stdout.write(head.line())

    def _read(self, path: str) -> list[checkpoints.Checkpoint]:
        try:
            return checkpoints.parse(Path(path).read_text())
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}")
        except ValueError as error:
            raise CommandError(f"{path}: {error}")

    def _check(self, expected, account_id) -> int:
        failed = 0
        for point in expected:
            if account_id is not None and point.chain_key != account_id:
                continue
            reason = checkpoints.check(point)
            if reason:
                failed += 1
                self.stderr.write(
                    f"CHECKPOINT FAILED chain {point.chain_key} event #{point.event_id}: {reason}"
                )
        return failed
