from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from statuspool.crypto import (
    DecryptionError,
    Sealed,
    current_key_id,
    decrypt,
    encrypt,
    encrypted_fields,
    key_id_of,
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (TOTP seeds, notification channel secrets, any "
        "EncryptedTextField) whose key id is not the newest key of ENCRYPTION_KEYS. Put the new key "
        "first in ENCRYPTION_KEYS, keep the old ones, run this, then drop the old keys. Values are "
        "decrypted with their row's associated data and encrypted again with the newest key, in "
        "batches; a value changed meanwhile is left alone. --dry-run only counts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be re-encrypted; write nothing.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )

    def handle(self, *args, dry_run=False, batch_size=500, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        newest = current_key_id()
        totals = {"values": 0, "current": 0, "reencrypted": 0, "changed_meanwhile": 0}
        unreadable: list[str] = []
        for model in apps.get_models():
            if model._meta.proxy or not model._meta.managed:
                continue  # a proxy shares its concrete model's table, which is visited itself
            for field in encrypted_fields(model):
                counts = self._rotate_field(model, field, newest, dry_run, batch_size, unreadable)
                for name, count in counts.items():
                    totals[name] += count
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(
            f"Newest key: {newest}. {totals['values']} encrypted values: "
            f"{totals['current']} already use it, {totals['reencrypted']} {verb}, "
            f"{totals['changed_meanwhile']} changed meanwhile (left alone), "
            f"{len(unreadable)} unreadable."
        )
        if unreadable:
            raise CommandError(
                "These values cannot be decrypted with ENCRYPTION_KEYS (a key missing from the "
                "ring, or tampered data): " + ", ".join(unreadable[:20])
            )

    def _rotate_field(self, model, field, newest, dry_run, batch_size, unreadable):
        manager = model._default_manager
        present = manager.filter(**{f"{field.attname}__isnull": False})
        label = f"{model._meta.label}.{field.name}"
        counts = {"values": 0, "current": 0, "reencrypted": 0, "changed_meanwhile": 0}
        last_pk = None
        with tqdm(total=present.count(), desc=label, unit="value", disable=None) as bar:
            while True:
                batch = present.order_by("pk")
                if last_pk is not None:
                    batch = batch.filter(pk__gt=last_pk)
                rows = list(batch.values_list("pk", field.attname)[:batch_size])
                if not rows:
                    return counts
                last_pk = rows[-1][0]
                with transaction.atomic():
                    for pk, token in rows:
                        counts["values"] += 1
                        outcome = self._rotate_value(
                            manager, model, field, pk, token, newest, dry_run
                        )
                        if outcome == "unreadable":
                            unreadable.append(f"{label} pk={pk}")
                        else:
                            counts[outcome] += 1
                bar.update(len(rows))

    @staticmethod
    def _rotate_value(manager, model, field, pk, token, newest, dry_run) -> str:
        try:
            if key_id_of(token) == newest:
                return "current"
            associated_data = field.associated_data(model(pk=pk))
            plaintext = decrypt(token, associated_data)
        except (DecryptionError, IndexError):
            return "unreadable"
        if dry_run:
            return "reencrypted"
        fresh = Sealed(encrypt(plaintext, associated_data))
        # Compare-and-swap: a value rewritten since it was read keeps its new content.
        updated = manager.filter(pk=pk, **{field.attname: Sealed(token)}).update(
            **{field.attname: fresh}
        )
        return "reencrypted" if updated else "changed_meanwhile"
