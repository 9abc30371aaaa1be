from django.core.management.base import BaseCommand, CommandError

from usage import partitions


class Command(BaseCommand):
    help = (
        "The request log's monthly partitions on PostgreSQL: --list shows them with their row "
        "estimates, --ensure creates this month's and the next --months-ahead (the daily job "
        "does the same; rows waiting in the default partition are moved into their month)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", dest="show", help="Show the partitions.")
        parser.add_argument("--ensure", action="store_true", help="Create the missing ones.")
        parser.add_argument("--months-ahead", type=int, default=partitions.MONTHS_AHEAD)

    def handle(self, *args, show, ensure, months_ahead, **options):
        if not partitions.is_partitioned():
            raise CommandError(
                "The request log is not partitioned here (SQLite, or PostgreSQL before "
                "migration usage 0004): retention deletes its rows in batches."
            )
        if months_ahead < 0:
            raise CommandError("--months-ahead must be 0 or more.")
        if ensure:
            created = partitions.ensure_partitions(months_ahead)
            self.stdout.write(
                self.style.SUCCESS(f"Created {len(created)} partition(s): {', '.join(created)}")
                if created
                else "Every partition already exists."
            )
        if show or not ensure:
            estimates = partitions.row_estimates()
            for part in partitions.partitions():
                span = (
                    "DEFAULT (rows of months without a partition)"
                    if part.is_default
                    else f"{part.start:%Y-%m-%d} … {part.end:%Y-%m-%d}"
                )
                rows = estimates.get(part.name, -1)
                shown = "not analysed yet" if rows < 0 else f"~{rows:,} rows"
                self.stdout.write(f"{part.name:<28} {span:<46} {shown}")
