"""Sign-up: user + Team-plan account + owner membership + default key shown once."""

from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.urls import reverse

from apikeys.models import ApiKey
from audit.models import AuditEvent
from statuspool import api_key_format
from statuspool.accounts.middleware import SESSION_KEY
from statuspool.accounts.models import Account, Membership, User
from statuspool.notifications.models import OutboxEmail
from tests.accounts.conftest import events
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

GOOD = {
    "email": "Dana@Example.test",
    "full_name": "Dana Scully",
    "account_name": "Scully Ops",
    "password": "vanilla-otter-47-lantern",
}


def request_signup(client, **changes):
    return client.post(reverse("onboarding:signup"), {**GOOD, **changes}, REMOTE_ADDR="192.0.2.44")


def confirm_path(email="dana@example.test") -> str:
    """The link of the confirmation email sent to the address (from the outbox row)."""
    row = (
        OutboxEmail.objects.filter(template="signup_confirm", context__email=email)
        .order_by("-id")
        .first()
    )
    return urlsplit(row.context["confirm_url"]).path


def signup(client, **changes):
    """The whole sign-up: the form, then the emailed link's button (issue 10: email confirmed)."""
    sent = request_signup(client, **changes)
    if sent.context is not None and "form" in sent.context:
        return sent  # refused by the form
    email = {**GOOD, **changes}["email"].lower()
    return client.post(confirm_path(email), REMOTE_ADDR="192.0.2.44")


def all_text_in_database() -> str:
    """Every row of every table, as text: where a leaked plaintext would show up."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_signup_page_renders(client):
    response = client.get(reverse("onboarding:signup"))
    assert response.status_code == 200
    for name in ("email", "full_name", "account_name", "password"):
        assert f'name="{name}"'.encode() in response.content


def test_signup_creates_everything_and_shows_the_key_once(client):
    response = signup(client)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    user = User.objects.get(email="dana@example.test")
    assert user.full_name == "Dana Scully" and user.check_password(GOOD["password"])
    account = Account.objects.get(name="Scully Ops")
    assert account.plan == "team"
    assert account.billing_email == "dana@example.test"
    assert Membership.objects.get(account=account).user == user
    assert account.owner == user
    [key] = ApiKey.objects.filter(account=account)
    assert key.name == "Default key"
    assert key.scopes == ["monitors:read", "alerts:read"]
    assert key.created_by == user

    plaintext = response.context["api_key"]
    assert api_key_format.is_well_formed(plaintext) and key.matches(plaintext)
    assert plaintext.encode() in response.content
    assert b'data-copy-target="api-key"' in response.content
    assert b"Never embed keys in client-side JavaScript or public repositories" in response.content
    assert reverse("accounts:twofactor_enroll").encode() in response.content
    # Only a digest is stored: the plaintext is nowhere in the database, session included.
    assert plaintext not in all_text_in_database()
    assert key.public_id in plaintext

    # The new owner is logged in, working in the new account.
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[SESSION_KEY] == account.pk

    actions = list(
        AuditEvent.objects.filter(account=account).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["auth.signup", "account.created", "apikey.created"]
    for event in AuditEvent.objects.filter(account=account):
        assert event.actor_email == "dana@example.test"
        assert event.ip == "192.0.2.44"


def test_the_key_is_not_shown_again(client):
    response = signup(client)
    plaintext = response.context["api_key"]
    for url in (
        reverse("accounts:team"),
        reverse("accounts:security"),
        reverse("onboarding:signup"),
    ):
        follow = client.get(url, follow=True)
        assert plaintext.encode() not in follow.content


def test_existing_email_creates_nothing_and_emails_its_owner(client, alice):
    response = request_signup(client, email=alice.email.upper())
    assert response.status_code == 200
    assert b"Check your inbox" in response.content and b"already exists" not in response.content
    assert not Account.objects.filter(name="Scully Ops").exists()
    assert "_auth_user_id" not in client.session
    [email] = OutboxEmail.objects.filter(template="signup_existing")
    assert email.to == [alice.email]


@pytest.mark.parametrize(
    "password, message",
    [
        ("short1", b"too short"),
        ("password1234", b"too common"),
        ("83749218374921", b"entirely numeric"),
        ("dana@example.test", b"too similar"),
    ],
)
def test_weak_password_is_refused(client, password, message):
    response = signup(client, password=password)
    assert response.status_code == 200
    assert message in response.content
    assert not User.objects.filter(email="dana@example.test").exists()
    assert not Account.objects.exists()
    assert events("account.created") == []


def test_missing_fields_are_refused(client):
    response = signup(client, account_name="", full_name="")
    assert response.status_code == 200
    assert not User.objects.exists()


def test_signups_per_address_are_limited(client, settings):
    settings.SIGNUP_RATE_PER_IP = "2/h"
    for n in range(2):
        signup(client, email=f"person{n}@example.test")
        client.post(reverse("accounts:logout"))
    response = signup(client, email="person3@example.test")
    assert b"Too many sign-ups from your network" in response.content
    assert User.objects.count() == 2


def test_logged_in_user_is_sent_on(client):
    client.force_login(make_user("someone@example.test"))
    response = client.get(reverse("onboarding:signup"))
    assert response.status_code == 302
