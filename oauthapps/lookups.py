"""Lookups other layers reach through settings, because they sit below oauthapps (DESIGN.md "Layers")."""

from django.urls import reverse

from oauthapps.models import Application, Authorization


def client_id_for_application(*, account_id: int, application_id: int) -> str | None:
    """settings.AUDIT_APPLICATION_LOOKUP: the Audit Log's ``app`` filter also finds its grants'
    events, which name the application by its client_id."""
    return (
        Application.objects.filter(account_id=account_id, pk=application_id)
        .values_list("client_id", flat=True)
        .first()
    )


def usage_pages(*, account, ids) -> dict[int, tuple[str, str]]:
    """settings.USAGE_CREDENTIAL_PAGES: for Settings → Usage, each grant as "application (person)"
    with the application's page when this account registered it (else the grant has no page here:
    Connected Applications shows a person only their own grants)."""
    grants = (
        Authorization.objects.filter(account=account, pk__in=ids)
        .select_related("application", "user")
        .only("pk", "application__name", "application__account_id", "user__email")
    )
    pages = {}
    for grant in grants:
        name = f"{grant.application.name} ({grant.user.email})"
        own = grant.application.account_id == account.pk
        url = reverse("oauthapps:application_detail", args=[grant.application_id]) if own else ""
        pages[grant.pk] = (name, url)
    return pages
