from django.core.management.base import BaseCommand
from tqdm import tqdm

from audit.export import EVENT_COLUMNS, csv_lines, event_record, jsonl_lines
from audit.management.arguments import moment_from
from audit.models import AuditEvent
from statuspool.accounts.management.arguments import account_from


class Command(BaseCommand):
    help = (
        "Write one account's audit events to stdout, oldest first, as CSV or JSON Lines, with "
        "their hashes so the copy can be checked later. --since is inclusive, --until exclusive; "
        "each takes a date (YYYY-MM-DD, UTC; --until includes that whole day) or an ISO 8601 "
        "date-time. A progress bar goes to stderr when it is a terminal (never into the export)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="Account id or exact name.")
        parser.add_argument("--since", help="Start, inclusive.")
        parser.add_argument("--until", help="End, exclusive (a date includes that day).")
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, account, since, until, format, no_progress=False, **options):
        account = account_from(account)
        events = AuditEvent.objects.filter(account=account)
        since, until = moment_from(since), moment_from(until, end_of_day=True)
        if since:
            events = events.filter(occurred_at__gte=since)
        if until:
            events = events.filter(occurred_at__lt=until)
        rows = tqdm(
            events.order_by("occurred_at", "id").iterator(chunk_size=2000),
            total=events.count(),
            unit="event",
            # None: tqdm hides itself when stderr is not a terminal (cron, CI, a pipe).
            disable=True if no_progress else None,
            file=self.stderr._out,
        )
        if format == "csv":
            lines = csv_lines(rows, EVENT_COLUMNS, event_record)
        else:
            lines = jsonl_lines(rows, event_record)
        for line in lines:
            self.stdout.write(line, ending="")
