"""Recovery codes: ten single-use codes, stored as keyed digests, shown once when made."""

import re

from django.db import transaction
from django.utils import timezone

from statuspool.accounts.models import RecoveryCode
from statuspool.crypto import digest_matches, keyed_digest

COUNT = 10
_HEX10 = re.compile(r"^[0-9a-f]{10}$")


def canonical(raw: str) -> str | None:
    """``ABCDE 12345``, ``abcde-12345`` and ``abcde12345`` are the same code; None if not a code."""
    compact = re.sub(r"[\s-]", "", raw or "").lower()
    if not _HEX10.match(compact):
        return None
    return f"{compact[:5]}-{compact[5:]}"


def replace_all(user) -> list[str]:
    """Drop the user's codes and make ten new ones; returns the plaintexts (never stored)."""
    RecoveryCode.objects.filter(user=user).delete()
    plaintexts = [RecoveryCode.generate_plaintext() for _ in range(COUNT)]
    rows = []
    for plaintext in plaintexts:
        pepper_id, digest = keyed_digest(plaintext)
        rows.append(RecoveryCode(user=user, pepper_id=pepper_id, digest=digest))
    RecoveryCode.objects.bulk_create(rows)
    return plaintexts


def remaining(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def consume(user, raw: str) -> bool:
    """Spend one unused code of this user; False if it is not one (or was already spent)."""
    code = canonical(raw)
    if code is None:
        return False
    with transaction.atomic():
        unused = list(
            RecoveryCode.objects.select_for_update().filter(user=user, used_at__isnull=True)
        )
        # Compare against each of the (at most ten) digests in constant time rather than
        # looking the digest up, so timing says nothing about near misses.
        match = next((c for c in unused if digest_matches(code, c.pepper_id, c.digest)), None)
        if match is None:
            return False
        spent = RecoveryCode.objects.filter(pk=match.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        return spent == 1
