"""Lookups other layers reach through settings, because they sit below oauthapps (DESIGN.md "Layers")."""

from oauthapps.models import Application


def client_id_for_application(*, account_id: int, application_id: int) -> str | None:
    """settings.AUDIT_APPLICATION_LOOKUP: the Audit Log's ``app`` filter also finds its grants'
    events, which name the application by its client_id."""
    return (
        Application.objects.filter(account_id=account_id, pk=application_id)
        .values_list("client_id", flat=True)
        .first()
    )
