"""Issue 10 item 3: sign-up does not reveal who has an account.

Reproduction: POST /signup/ with a known email answered "A user with this email address already
exists", without limit. Now a known and an unknown address get the same page; the known
address's owner is emailed; every attempt counts toward the per-IP sign-up limit; the account is
created only from the emailed link.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from statuspool.accounts.models import Account, User
from statuspool.notifications.models import OutboxEmail
from statuspool.onboarding.models import PendingSignup
from statuspool.onboarding.signup import signup_prune

pytestmark = pytest.mark.django_db
FORM = {"full_name": "Eve Example", "account_name": "Probe Co", "password": "lantern-cobalt-88-x"}


def post(client, email, ip="192.0.2.77", **changes):
    return client.post(
        reverse("onboarding:signup"), {**FORM, "email": email, **changes}, REMOTE_ADDR=ip
    )


def _normalised(response, email):
    text = response.content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return text.replace(email, "EMAIL")


def test_known_and_unknown_addresses_get_the_same_response(client, alice):
    known = post(client, alice.email)
    unknown = post(client, "nobody-yet@example.test")
    assert known.status_code == unknown.status_code == 200
    assert _normalised(known, alice.email) == _normalised(unknown, "nobody-yet@example.test")
    assert known.templates[0].name == unknown.templates[0].name == "accounts/signup_sent.html"
    assert User.objects.count() == 1 and not Account.objects.filter(name="Probe Co").exists()


def test_the_known_addresses_owner_is_told_by_email(client, alice):
    post(client, alice.email.upper())
    [email] = OutboxEmail.objects.filter(to=[alice.email])
    assert email.template == "signup_existing"
    assert "Someone tried to sign up" in email.subject
    assert email.context["ip"] == "192.0.2.77"
    assert not PendingSignup.objects.exists()


def test_failed_signups_count_toward_the_per_ip_limit(client, alice, settings):
    settings.SIGNUP_RATE_PER_IP = "3/h"
    post(client, alice.email)  # a known address
    post(client, "x@example.test", password="short")  # refused by the form
    post(client, "y@example.test", account_name="")  # refused by the form
    response = post(client, "fresh@example.test")
    assert b"Too many sign-ups from your network" in response.content
    assert not PendingSignup.objects.filter(email="fresh@example.test").exists()
    # Another address is not affected.
    assert b"Check your inbox" in post(client, "fresh@example.test", ip="192.0.2.78").content


def _link(email):
    row = OutboxEmail.objects.get(template="signup_confirm", context__email=email)
    return urlsplit(row.context["confirm_url"]).path


def test_the_emailed_link_creates_the_account_once(client):
    post(client, "new@example.test")
    pending = PendingSignup.objects.get()
    link = _link("new@example.test")
    assert link.rsplit("/", 2)[-2] not in pending.token_digest  # only the digest is stored
    assert pending.password_hash.startswith(("pbkdf2", "md5", "argon2", "bcrypt", "scrypt"))

    page = client.get(link)  # a mail scanner opening the link creates nothing
    assert page.status_code == 200 and not User.objects.filter(email="new@example.test").exists()

    done = client.post(link)
    assert done.status_code == 200 and "api_key" in done.context
    user = User.objects.get(email="new@example.test")
    assert user.check_password(FORM["password"])
    assert Account.objects.get(name="Probe Co").owner == user

    client.post(reverse("accounts:logout"))
    assert client.post(link).status_code == 404  # spent
    assert Account.objects.filter(name="Probe Co").count() == 1


def test_expired_links_are_refused_and_pruned(client):
    post(client, "late@example.test")
    link = _link("late@example.test")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        assert client.get(link).status_code == 404
        assert client.post(link).status_code == 404
        assert signup_prune() == 1
    assert not User.objects.filter(email="late@example.test").exists()


def test_a_link_for_an_address_taken_meanwhile_creates_nothing(client):
    from tests.conftest import make_user

    post(client, "race@example.test")
    link = _link("race@example.test")
    make_user("race@example.test")
    assert client.post(link).status_code == 404
    assert not Account.objects.filter(name="Probe Co").exists()
