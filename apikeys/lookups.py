"""Lookups other layers reach through settings, because they sit below apikeys (DESIGN.md "Layers")."""

from django.urls import reverse

from apikeys.models import ApiKey


def key_pk_for_public_id(*, account_id: int, public_id: str) -> int | None:
    """settings.AUDIT_API_KEY_LOOKUP: the Audit Log's ``key`` filter also finds events about it."""
    return (
        ApiKey.objects.filter(account_id=account_id, public_id=public_id)
        .values_list("pk", flat=True)
        .first()
    )


def keys_counting_toward_limit(*, account) -> int:
    """settings.ACCOUNT_API_KEYS_IN_USE: the allowance GET /v2/billing reports."""
    return ApiKey.objects.for_account(account).counting_toward_limit().count()


def usage_pages(*, account, ids) -> dict[int, tuple[str, str]]:
    """settings.USAGE_CREDENTIAL_PAGES: each key's name and page, for Settings → Usage."""
    keys = (
        ApiKey.objects.for_account(account)
        .filter(pk__in=ids)
        .values_list("pk", "name", "public_id")
    )
    return {pk: (name, reverse("apikeys:detail", args=[public_id])) for pk, name, public_id in keys}
