from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from usage import retention


class Command(BaseCommand):
    help = (
        "Delete audit events and request-log rows older than --days (default "
        "AUDIT_RETENTION_DAYS, 365): everything that happened strictly before now minus that many "
        "days. Works in short batches (on PostgreSQL, whole months of the request log are "
        "dropped as partitions); each account's chain stays verifiable (the hash of the last "
        "deleted event becomes the chain's anchor). The daily Celery job does the same."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.AUDIT_RETENTION_DAYS)
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )
        parser.add_argument("--batch-size", type=int, default=retention.EVENT_BATCH)
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, days, dry_run, batch_size, no_progress, **options):
        if days < 1 or batch_size < 1:
            raise CommandError("--days and --batch-size must be at least 1.")
        cutoff = retention.cutoff_for(days)
        events, requests = retention.expired_counts(cutoff)
        when = cutoff.strftime("%Y-%m-%d %H:%M:%S UTC")
        if dry_run:
            self.stdout.write(
                f"Dry run: would delete {events} audit event(s) and {requests} request-log "
                f"row(s) from before {when}."
            )
            return
        with tqdm(
            total=events + requests, unit="row", disable=no_progress, file=self.stderr._out
        ) as progress:
            deleted_events = retention.purge_events(
                cutoff=cutoff, batch_size=batch_size, progress=progress
            )
            deleted_requests, busy = retention.purge_request_log(cutoff=cutoff, progress=progress)
        if busy:
            self.stderr.write(
                "Request-log partitions left for a later run (their lock was busy): "
                + ", ".join(busy)
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted_events} audit event(s) and {deleted_requests} request-log "
                f"row(s) from before {when}."
            )
        )
