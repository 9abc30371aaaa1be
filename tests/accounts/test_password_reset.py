"""Forgot password (issue 15 item 4): same answer for unknown addresses, single-use one-hour link,
per-IP and per-address limits, other sessions end, 2FA still asked, audited and notified."""

import re
from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from statuspool.accounts.models import User
from statuspool.notifications.models import OutboxEmail
from statuspool.notifications.services import render_message
from tests.conftest import PASSWORD, login

from .conftest import events

NEW = "an entirely new phrase 77"


def _request(client, email, **extra):
    return client.post("/password-reset/", {"email": email}, **extra)


def _link_path(user_email):
    row = OutboxEmail.objects.filter(template="password_reset", to=[user_email]).latest("id")
    return re.search(r"https?://[^/\s]+(/password-reset/\S+/\S+/)", render_message(row).body).group(
        1
    )


def test_known_and_unknown_addresses_get_the_same_answer(client, alice):
    known = _request(client, "alice@acme.test")
    unknown = _request(client, "nobody@acme.test")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/password-reset/sent/"
    assert OutboxEmail.objects.filter(template="password_reset").count() == 1
    assert [e.details["known"] for e in events("auth.password_reset_requested")] == [True, False]


def test_reset_end_to_end_ends_other_sessions_and_keeps_2fa(client, alice):
    other_session = login(Client(), alice)
    assert other_session.get("/settings/security/").status_code == 200
    _request(client, "alice@acme.test")
    link = _link_path("alice@acme.test")
    opened = client.get(link)
    assert opened.status_code == 302 and opened["Location"] == "/password-reset/new/"
    response = client.post("/password-reset/new/", {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302 and response["Location"] == "/login/"
    alice.refresh_from_db()
    assert alice.check_password(NEW)
    assert other_session.get("/settings/security/").status_code == 302  # signed out
    # 2FA is still asked at the next login.
    login_step = client.post("/login/", {"email": "alice@acme.test", "password": NEW})
    assert login_step["Location"] == "/login/verify/"
    assert events("auth.password_reset")[0].actor_email == "alice@acme.test"
    # Alice is told through the security notifications of her account (as the person concerned).
    notice = OutboxEmail.objects.get(template="security_notice", to=["alice@acme.test"])
    assert "password of alice@acme.test was reset" in notice.subject


def test_the_link_works_once(client, alice):
    _request(client, "alice@acme.test")
    link = _link_path("alice@acme.test")
    client.get(link)
    client.post("/password-reset/new/", {"new_password1": NEW, "new_password2": NEW})
    again = Client()
    again.get(link)
    assert again.get("/password-reset/new/").status_code == 404
    response = again.post(
        "/password-reset/new/", {"new_password1": PASSWORD + "x", "new_password2": PASSWORD + "x"}
    )
    assert response.status_code == 404
    alice.refresh_from_db()
    assert alice.check_password(NEW)


def test_the_link_expires_after_an_hour(client, alice):
    _request(client, "alice@acme.test")
    link = _link_path("alice@acme.test")
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        client.get(link)
        assert client.get("/password-reset/new/").status_code == 404
    assert User.objects.get(pk=alice.pk).check_password(PASSWORD)


def test_requests_are_limited_per_address(client, alice, settings):
    settings.PASSWORD_RESET_RATE_PER_EMAIL = "2/h"
    for number in range(2):
        _request(client, "alice@acme.test", REMOTE_ADDR=f"203.0.113.{number}")
    refused = _request(client, "alice@acme.test", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 200 and "Too many reset requests" in refused.content.decode()
    assert OutboxEmail.objects.filter(template="password_reset").count() == 2


def test_requests_are_limited_per_ip(client, alice, settings):
    settings.PASSWORD_RESET_RATE_PER_IP = "2/h"
    _request(client, "a@example.test")
    _request(client, "b@example.test")
    refused = _request(client, "alice@acme.test")
    assert "Too many reset requests" in refused.content.decode()
    assert not OutboxEmail.objects.filter(template="password_reset").exists()


def test_login_page_links_to_it(client):
    assert 'href="/password-reset/"' in client.get("/login/").content.decode()
