"""The operators' admin for OAuth: read-only pages, no secret, changes only through audited actions."""

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from audit.models import AuditEvent
from oauthapps.models import (
    AccessToken,
    Application,
    Authorization,
    Grant,
    IDToken,
    RefreshToken,
)
from tests.conftest import make_user
from tests.oauthapps.helpers import issue_tokens

pytestmark = pytest.mark.django_db

OPERATOR = "ops@statuspool.test"


@pytest.fixture
def operator(client):
    # Operators have 2FA: the admin opens for no one without it.
    user = make_user(OPERATOR)
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


@pytest.fixture
def grant(app, alice, account_a):
    """(authorization, raw access token, raw refresh token) for Alice in account A."""
    access, refresh = issue_tokens(app, alice, account_a, ["monitors:read"])
    return Authorization.objects.get(application=app, user=alice), access, refresh


def test_only_our_read_only_pages_are_registered():
    assert admin.site.is_registered(Application) and admin.site.is_registered(Authorization)
    for model in (AccessToken, RefreshToken, Grant, IDToken):
        assert not admin.site.is_registered(model), model
    for model in (Application, Authorization):
        assert type(admin.site._registry[model]).__module__ == "oauthapps.admin"
    with pytest.raises(NoReverseMatch):
        reverse("admin:oauthapps_accesstoken_changelist")


def test_pages_render_without_any_secret(operator, app, secret, grant):
    authorization, access, refresh = grant
    app.refresh_from_db()
    access_row = AccessToken.objects.get(authorization=authorization)
    refresh_row = RefreshToken.objects.get(authorization=authorization)
    secrets = [
        secret,
        app.client_secret,  # the stored digest
        access,
        refresh,
        access_row.token,
        access_row.token_checksum,
        refresh_row.token,
        refresh_row.token_checksum,
    ]
    secrets = [value for value in secrets if value]
    pages = [
        reverse("admin:oauthapps_application_changelist"),
        reverse("admin:oauthapps_application_change", args=[app.pk]),
        reverse("admin:oauthapps_authorization_changelist"),
        reverse("admin:oauthapps_authorization_change", args=[authorization.pk]),
        reverse("admin:index"),
    ]
    for url in pages:
        response = operator.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not [value for value in secrets if value in html], url
        assert "client_secret" not in html and "Client secret" not in html, url

    listing = operator.get(pages[0]).content.decode()
    assert app.name in listing and app.client_id in listing and "Acme Monitoring" in listing
    assert "alice@acme.test" in operator.get(pages[2]).content.decode()


def test_nothing_can_be_added_changed_or_deleted(operator, app, grant):
    authorization = grant[0]
    for name, args in [
        ("admin:oauthapps_application_add", []),
        ("admin:oauthapps_application_delete", [app.pk]),
        ("admin:oauthapps_authorization_add", []),
        ("admin:oauthapps_authorization_delete", [authorization.pk]),
    ]:
        assert operator.get(reverse(name, args=args)).status_code == 403, name

    response = operator.post(
        reverse("admin:oauthapps_application_change", args=[app.pk]),
        {"name": "Renamed", "client_secret": "chosen-by-operator"},
    )
    assert response.status_code == 403
    stored = Application.objects.get(pk=app.pk)
    assert stored.name == "PagerDuty Sync" and stored.client_secret == app.client_secret

    # Django's bulk "delete selected" is not offered: it would skip the audited service.
    page = operator.get(reverse("admin:oauthapps_application_changelist")).content.decode()
    assert "delete_selected" not in page and "delete_with_tokens" in page


def test_revoke_action_revokes_and_audits(operator, grant):
    authorization, access, _refresh = grant
    response = operator.post(
        reverse("admin:oauthapps_authorization_changelist"),
        {"action": "revoke_selected", "_selected_action": [authorization.pk]},
    )
    assert response.status_code == 302
    authorization.refresh_from_db()
    assert authorization.revoked_at is not None
    assert not AccessToken.objects.filter(authorization=authorization).exists()
    assert RefreshToken.objects.get(authorization=authorization).revoked is not None
    event = AuditEvent.objects.get(action="oauth.grant_revoked")
    assert event.actor_email == OPERATOR and event.account_id == authorization.account_id
    assert event.details["reason"] == "Revoked by an operator in the admin"


def test_delete_action_goes_through_the_service(operator, app, grant):
    response = operator.post(
        reverse("admin:oauthapps_application_changelist"),
        {"action": "delete_with_tokens", "_selected_action": [app.pk]},
    )
    assert response.status_code == 302
    assert not Application.objects.filter(pk=app.pk).exists()
    assert not AccessToken.objects.exists() and not Grant.objects.exists()
    event = AuditEvent.objects.get(action="oauth.application_deleted")
    assert event.actor_email == OPERATOR and event.details["client_id"] == app.client_id


def test_staff_without_the_delete_permission_cannot_run_the_actions(client, app, grant):
    from django.contrib.auth.models import Permission

    staff = make_user("viewer@statuspool.test")  # staff need 2FA before any admin page
    staff.is_staff = True
    staff.save()
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label="oauthapps", codename__startswith="view_")
    )
    client.force_login(staff)
    page = client.get(reverse("admin:oauthapps_authorization_changelist"))
    assert page.status_code == 200 and "revoke_selected" not in page.content.decode()
    client.post(
        reverse("admin:oauthapps_authorization_changelist"),
        {"action": "revoke_selected", "_selected_action": [grant[0].pk]},
    )
    assert Authorization.objects.get(pk=grant[0].pk).revoked_at is None
    assert not AuditEvent.objects.filter(action="oauth.grant_revoked").exists()
