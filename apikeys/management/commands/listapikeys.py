from django.core.management.base import BaseCommand

from apikeys.management.helpers import describe_expiry, describe_status
from apikeys.models import ApiKey
from apikeys.policy import policy_of
from statuspool.accounts.management.arguments import account_from

COLUMNS = ("PUBLIC ID", "NAME", "SCOPES", "STATUS", "EXPIRES", "POLICY", "LAST USED")


class Command(BaseCommand):
    help = (
        "List an account's API keys, revoked ones included, oldest first: public id, name, scopes, "
        "status (active/suspended/revoked/expired/rotated out, stale, rotation recommended), "
        "expiry date, policy state (ok / out of policy and why / none without a policy) and last "
        "use. "
        "Never prints a secret (only the public id is stored in a readable form)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="Account id or exact name.")

    def handle(self, *args, account, **options):
        account = account_from(account)
        rules = policy_of(account)
        if rules is not None:
            self.stdout.write(
                f"Key policy: max lifetime {rules.max_lifetime_days or 'unlimited'} days, "
                f"IP allowlist {'required' if rules.require_allowlist else 'optional'}."
            )
        rows = [COLUMNS]
        for key in ApiKey.objects.for_account(account).order_by("created_at", "id"):
            last_used = "never"
            if key.last_used_at:
                last_used = f"{key.last_used_at:%Y-%m-%d %H:%M} UTC"
                if key.last_used_ip:
                    last_used += f" from {key.last_used_ip}"
                if key.last_used_country:
                    last_used += f" ({key.last_used_country})"
            state = "-"
            if rules is not None and key.is_live:
                state = "; ".join(rules.violations(key)) or "ok"
                state = state if state == "ok" else f"out of policy: {state}"
            rows.append(
                (
                    key.public_id,
                    key.name,
                    ",".join(key.scopes),
                    describe_status(key),
                    describe_expiry(key),
                    state,
                    last_used,
                )
            )
        if len(rows) == 1:
            self.stdout.write(f"{account.name} (id {account.pk}) has no API keys.")
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        for row in rows:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
