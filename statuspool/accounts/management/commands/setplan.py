"""manage.py setplan: move an account to another plan (an operator's decision, audited)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from statuspool.accounts.management.arguments import account_from
from statuspool.accounts.models import Plan
from statuspool.accounts.team_services import account_set_plan


class Command(BaseCommand):
    help = (
        "Change an account's plan (team or enterprise): its rate limits, and IP allowlisting "
        "on Enterprise. Audited as account.plan_changed by the system. Credentials pick up the "
        "new limits on their next request. --dry-run prints what would change."
    )

    def add_arguments(self, parser):
        parser.add_argument("account", help="The account's id or exact name.")
        parser.add_argument("plan", help=f"One of: {', '.join(Plan.values)}.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Change nothing; say what would."
        )

    def handle(self, *args, account, plan, dry_run, **options):
        target = account_from(account)
        if plan not in Plan.values:
            raise CommandError(f"Unknown plan {plan!r}; choose one of: {', '.join(Plan.values)}.")
        if target.plan == plan:
            self.stdout.write(f"{target.name} (#{target.pk}) is already on the {plan} plan.")
            return
        if dry_run:
            self.stdout.write(
                f"Would move {target.name} (#{target.pk}) from {target.plan} to {plan}."
            )
            return
        before = target.plan
        try:
            account_set_plan(account=target, plan=plan, actor=Actor.system("manage.py setplan"))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages))
        self.stdout.write(f"Moved {target.name} (#{target.pk}) from {before} to {plan}.")
