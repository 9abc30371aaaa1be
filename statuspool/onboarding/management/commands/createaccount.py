"""manage.py createaccount: an account, its owner and its default API key, for operators."""

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apikeys.models import DEFAULT_KEY_NAME, DEFAULT_KEY_SCOPES
from audit.services import Actor
from statuspool.accounts.models import Plan, User
from statuspool.onboarding.services import NewAccount, account_check_new, account_create


class Command(BaseCommand):
    help = (
        "Create an account (team) with its owner and its default API key. The owner's user is "
        "created when no user has that email (a password is then required: read from standard "
        "input with --password-stdin, otherwise prompted for twice); an existing user becomes the "
        "owner as is. Prints the new account's id, and the default API key alone on the last line "
        "(shown once, stored only as a digest). Audited as account.created by the system. "
        "--dry-run checks the same rules (name, plan, email, a new owner's password) and prints "
        "what would be created, writing nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The account's name, 1-100 characters.")
        parser.add_argument("--owner-email", required=True, help="Email of the owner.")
        parser.add_argument(
            "--plan", default=Plan.TEAM, help=f"One of: {', '.join(Plan.values)} (default: team)."
        )
        parser.add_argument("--owner-name", default="", help="Full name for a new owner user.")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read a new owner's password from the first line of standard input.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate everything and print what would be created; write nothing.",
        )

    def handle(self, *args, **options):
        plan = options["plan"].strip().lower()
        if plan not in Plan.values:
            raise CommandError(
                f"Unknown plan {options['plan']!r}; choose one of: {', '.join(Plan.values)}."
            )
        email = options["owner_email"].strip()
        exists = User.objects.filter(email__iexact=email).exists()
        password = None if exists else self._read_password(options["password_stdin"])
        arguments = {
            "name": options["name"],
            "owner_email": email,
            "plan": plan,
            "owner_password": password,
            "owner_full_name": options["owner_name"],
        }
        try:
            if options["dry_run"]:
                self._describe(account_check_new(**arguments))
                return
            account, user, key = account_create(
                **arguments, actor=Actor.system(label="manage.py createaccount")
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages))
        who = "existing user" if exists else "new user"
        self.stdout.write(
            f"Created account {account.name!r} on the {account.get_plan_display()} plan; "
            f"owner {user.email} ({who})."
        )
        self.stdout.write(f"Account id: {account.pk}")
        self.stdout.write("Default API key (shown once; store it in a secrets manager now):")
        self.stdout.write(key)

    def _describe(self, new: NewAccount) -> None:
        who = "new user" if new.owner is None else "existing user"
        self.stdout.write(
            f"Dry run: would create account {new.name!r} on the {Plan(new.plan).label} plan; "
            f"owner {new.email} ({who})."
        )
        self.stdout.write(
            f"It would get its default API key “{DEFAULT_KEY_NAME}” "
            f"({', '.join(DEFAULT_KEY_SCOPES)}), shown once. Nothing was written."
        )

    def _read_password(self, from_stdin: bool) -> str:
        if from_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError(
                    "--password-stdin: standard input had no password on its first line."
                )
            return password
        if not sys.stdin.isatty():
            raise CommandError(
                "A new owner needs a password: use --password-stdin, or run in a terminal to be prompted."
            )
        first = getpass.getpass("Password for the new owner: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("The two passwords differ.")
        return first
