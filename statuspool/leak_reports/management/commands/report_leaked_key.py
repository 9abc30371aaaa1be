"""manage.py report_leaked_key KEY_OR_FILE: revoke credentials an operator learned had leaked."""

import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from statuspool.leak_reports.services import (
    SCANNER_PATTERN,
    TRUE_POSITIVE,
    LeakedItem,
    leak_report_process,
)


def _display(token: str) -> str:
    # Enough to recognise it in the dashboard (prefix + public part), never the secret.
    prefix, _, rest = token.partition("_")[2].partition("_")
    return f"sp_{prefix}_{rest[:8]}…"


class Command(BaseCommand):
    help = (
        "Revoke leaked StatusPool credentials (API keys sp_live_…, OAuth tokens sp_oat_…/sp_ort_…) "
        "reported outside GitHub's secret scanning. KEY_OR_FILE is one credential, or a file "
        "(or - for stdin) whose text is searched for credentials. Each real, live credential is "
        "revoked at once, audited (apikey.leaked_revoked / oauth.leaked_revoked, with --url) and "
        "the account's admins are emailed. Anything else is reported as not ours."
    )

    def add_arguments(self, parser):
        parser.add_argument("key_or_file", metavar="KEY_OR_FILE")
        parser.add_argument("--url", default="", help="Where the credential was found.")
        parser.add_argument("--source", default="operator report", help="How it was learned.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say which credentials are ours; revoke nothing."
        )

    def _tokens(self, value: str) -> list[str]:
        if re.fullmatch(SCANNER_PATTERN, value):
            return [value]
        if value == "-":
            import sys

            text = sys.stdin.read()
        else:
            path = Path(value)
            if not path.is_file():
                raise CommandError("KEY_OR_FILE is neither a StatusPool credential nor a file.")
            text = path.read_text(errors="replace")
        return list(dict.fromkeys(re.findall(SCANNER_PATTERN, text)))

    def handle(self, *args, key_or_file, url, source, dry_run, **options):
        tokens = self._tokens(key_or_file.strip())
        if not tokens:
            raise CommandError("No StatusPool credential found in the input.")
        items = [
            LeakedItem(token=token, url=url or "reported to an operator", source=source)
            for token in tokens
        ]
        actor = Actor.system(label="manage.py report_leaked_key")
        feedback = leak_report_process(items=items, actor=actor, dry_run=dry_run)
        for token, entry in zip(tokens, feedback, strict=True):
            ours = entry["label"] == TRUE_POSITIVE
            verdict = (
                ("would be revoked" if dry_run else "revoked")
                if ours
                else "not a StatusPool credential we know"
            )
            self.stdout.write(f"{_display(token)}: {verdict}")
        found = sum(entry["label"] == TRUE_POSITIVE for entry in feedback)
        self.stdout.write(
            f"{found} of {len(tokens)} credential(s) are ours." + (" (dry run)" if dry_run else "")
        )
