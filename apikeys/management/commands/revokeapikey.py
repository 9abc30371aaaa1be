from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apikeys.management.helpers import key_from_arg, messages_of
from apikeys.services import apikey_revoke
from audit.services import Actor


class Command(BaseCommand):
    help = (
        "Revoke an API key by its public id (the 8 characters after sp_live_). Immediate and "
        "final: the next request with the key is refused on every server. Refused for a key that "
        "is already revoked. Audited as actor kind system with the reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("public_id", help="The key's public id, e.g. 4f8a2c91.")
        parser.add_argument("--reason", default="", help="Why, e.g. compromised.")
        parser.add_argument("--dry-run", action="store_true", help="Show the key; change nothing.")

    def handle(self, *args, public_id, reason, dry_run, **options):
        key = key_from_arg(public_id)
        label = f"{key.name!r} ({key.display_id}) of {key.account.name} (id {key.account_id})"
        if dry_run:
            self.stdout.write(f"Dry run: would revoke {label} (currently {key.status}).")
            return
        try:
            apikey_revoke(
                key=key, actor=Actor.system(label="manage.py revokeapikey"), reason=reason
            )
        except ValidationError as error:
            raise CommandError(messages_of(error))
        self.stdout.write(f"Revoked {label}.")
