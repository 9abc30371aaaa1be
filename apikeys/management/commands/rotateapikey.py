from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apikeys.management.helpers import key_from_arg, messages_of
from apikeys.replacement import EXPIRY_CHOICES, apikey_rotate
from audit.services import Actor


class Command(BaseCommand):
    help = (
        "Rotate an active API key: create a replacement with the same name, scopes, IP allowlist "
        "and usage alert settings, and print it once (alone on the last line). The old key is "
        "revoked now or keeps working for 1h, 24h or 7d (--expire-old-in, default now). "
        "Audited as actor kind system."
    )

    def add_arguments(self, parser):
        parser.add_argument("public_id", help="The key's public id, e.g. 4f8a2c91.")
        parser.add_argument(
            "--expire-old-in",
            choices=list(EXPIRY_CHOICES),
            default="now",
            help="When the old key stops working (default: now).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Show the key; change nothing.")

    def handle(self, *args, public_id, expire_old_in, dry_run, **options):
        key = key_from_arg(public_id)
        label = f"{key.name!r} ({key.display_id}) of {key.account.name} (id {key.account_id})"
        if dry_run:
            self.stdout.write(f"Dry run: would rotate {label}; old key ends: {expire_old_in}.")
            return
        try:
            new_key, raw = apikey_rotate(
                key=key,
                actor=Actor.system(label="manage.py rotateapikey"),
                expire_old_in=expire_old_in,
            )
        except ValidationError as error:
            raise CommandError(messages_of(error))
        key.refresh_from_db()
        ends = (
            "revoked now"
            if key.revoked_at
            else f"works until {key.grace_ends_at:%Y-%m-%d %H:%M} UTC"
        )
        self.stdout.write(
            f"Rotated {label}: old key {ends}. New key {new_key.display_id}; store it now, "
            "it is not shown again:"
        )
        self.stdout.write(raw)
