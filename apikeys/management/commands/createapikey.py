from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apikeys.expiry import parse_duration
from apikeys.management.helpers import messages_of
from apikeys.services import apikey_create, apikey_validate_new
from audit.services import Actor
from statuspool.accounts.management.arguments import account_from
from statuspool.scopes import SCOPES


class Command(BaseCommand):
    help = (
        "Create an API key for an account and print it once; the key is alone on the last line. "
        "Criteria: name of 1-64 characters unique among the account's non-revoked keys, at least "
        f"one scope out of {', '.join(SCOPES)}, at most 4 non-revoked keys per account, and the "
        "account's key policy (Enterprise: maximum lifetime, required IP allowlist). "
        "Audited as actor kind system."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="Account id or exact name.")
        parser.add_argument("--name", required=True, help="Key name, e.g. prod-monitoring-cli.")
        parser.add_argument(
            "--scopes",
            required=True,
            help="Comma-separated scopes, e.g. monitors:read,alerts:read.",
        )
        parser.add_argument(
            "--expires-in",
            default=None,
            help="Lifetime such as 30d, 12h or 2w (default: no expiry, if the policy allows).",
        )
        parser.add_argument(
            "--allowed-networks",
            default="",
            help="Comma-separated CIDR blocks the key may be used from (Enterprise).",
        )
        parser.add_argument("--description", default="", help="Free text: what uses the key.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the criteria; create nothing."
        )

    def handle(
        self,
        *args,
        account,
        name,
        scopes,
        expires_in,
        allowed_networks,
        description,
        dry_run,
        **options,
    ):
        account = account_from(account)
        scope_list = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        networks = [block.strip() for block in allowed_networks.split(",") if block.strip()]
        try:
            expires_at = timezone.now() + parse_duration(expires_in) if expires_in else None
            if dry_run:
                apikey_validate_new(
                    account=account,
                    name=name,
                    scopes=scope_list,
                    expires_at=expires_at,
                    allowed_networks=networks,
                )
                self.stdout.write(
                    f"Dry run: would create {name!r} for {account.name} (id {account.pk})."
                )
                return
            key, raw = apikey_create(
                account=account,
                name=name,
                scopes=scope_list,
                actor=Actor.system(label="manage.py createapikey"),
                expires_at=expires_at,
                allowed_networks=networks,
                description=description,
            )
        except ValidationError as error:
            raise CommandError(messages_of(error))
        self.stdout.write(
            f"Created {key.name!r} ({key.display_id}) for {account.name} (id {account.pk}) "
            f"with scopes {', '.join(key.scopes)}"
            + (f", expiring {key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else "")
            + ". Store the key now; it is not shown again:"
        )
        self.stdout.write(raw)
