"""Issue 10 item 1: the operator admin is not a way around two-factor login.

/admin/login/ never checks a password itself: it sends people to the dashboard's login (password →
TOTP, with its limits and audit events). Admin pages open only for staff with a confirmed second
factor; a staff user without one can only enroll. Membership changes made in the admin are audited.
"""

import pytest
from django.urls import reverse

from statuspool.accounts.models import Membership, Role
from tests.accounts.conftest import code_at_step, steady_clock  # noqa: F401
from tests.conftest import PASSWORD, make_user

from .conftest import events, make_operator

pytestmark = pytest.mark.django_db
IP = "192.0.2.44"
WHEN = {"created_at_0": "2026-12-01", "created_at_1": "10:00:00"}


def post_admin_login(client, email, password=PASSWORD):
    return client.post(
        reverse("admin:login"),
        {"username": email, "password": password, "next": "/admin/"},
        REMOTE_ADDR=IP,
    )


def test_admin_login_form_never_authenticates(client):
    operator = make_operator()

    response = post_admin_login(client, operator.email)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login") + "?next=")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still anonymous


def test_admin_goes_through_password_then_totp_with_audit(client):
    operator = make_operator()
    start = client.get("/admin/accounts/user/")
    login_url = client.get(start.url).url  # /admin/login/?next=… → /login/?next=…
    assert login_url.startswith(reverse("accounts:login"))

    response = client.post(
        login_url, {"email": operator.email, "password": PASSWORD}, REMOTE_ADDR=IP
    )
    assert response.url == reverse("accounts:login_verify")
    assert "_auth_user_id" not in client.session  # the password alone is not a session
    assert client.get("/admin/").status_code == 302

    response = client.post(
        reverse("accounts:login_verify"), {"code": code_at_step(operator)}, REMOTE_ADDR=IP
    )
    assert response.url == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200
    [event] = events("auth.login", actor_email=operator.email)
    assert event.details == {"method": "totp"}


def test_admin_wrong_passwords_are_limited_and_audited(client, settings):
    operator = make_operator()
    for _ in range(5):  # LOGIN_RATE_PER_EMAIL 5/15m
        client.post(
            reverse("accounts:login") + "?next=/admin/",
            {"email": operator.email, "password": "wrong password"},
            REMOTE_ADDR=IP,
        )
    response = client.post(
        reverse("accounts:login") + "?next=/admin/",
        {"email": operator.email, "password": PASSWORD},
        REMOTE_ADDR=IP,
    )
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    reasons = [
        e.details["reason"] for e in events("auth.login_failed", target_label=operator.email)
    ]
    assert reasons == ["wrong_password"] * 5 + ["locked_out_email"]


def test_staff_without_2fa_reaches_neither_admin_nor_dashboard(client):
    operator = make_operator(with_2fa=False)
    response = client.post(
        reverse("accounts:login"), {"email": operator.email, "password": PASSWORD}, REMOTE_ADDR=IP
    )
    assert response.status_code == 302
    for url in ("/admin/", "/admin/accounts/user/", reverse("monitoring:monitor_list")):
        page = client.get(url, follow=True)
        assert page.redirect_chain[-1][0].startswith(reverse("accounts:twofactor_enroll")), url
        assert b"authenticator" in page.content.lower()
    # Enrollment itself opens, and sign-out still works.
    assert client.get(reverse("accounts:twofactor_enroll")).status_code == 200
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_staff_forced_through_enrollment_then_admin_opens(client):
    import pyotp

    from statuspool.accounts.models import TOTPDevice

    operator = make_operator(with_2fa=False)
    client.force_login(operator)
    client.get(reverse("accounts:twofactor_enroll"))
    device = TOTPDevice.objects.get(user=operator)
    client.post(reverse("accounts:twofactor_enroll"), {"code": pyotp.TOTP(device.secret).now()})
    operator.refresh_from_db()
    assert operator.has_2fa
    assert client.get("/admin/").status_code == 200


def test_non_staff_signed_in_user_gets_no_admin(client, alice):
    client.force_login(alice)
    assert client.get("/admin/login/").status_code == 404
    assert client.get("/admin/", follow=True).status_code == 404


def test_membership_changes_in_the_admin_are_audited(client, account_a, alice):
    operator = make_operator()
    client.force_login(operator)
    dave = make_user("dave@acme.test")

    add = client.post(
        reverse("admin:accounts_membership_add"),
        {"user": dave.pk, "account": account_a.pk, "role": Role.MEMBER, **WHEN},
        REMOTE_ADDR=IP,
    )
    assert add.status_code == 302
    membership = Membership.objects.get(user=dave, account=account_a)
    [added] = events("team.member_added")
    assert (added.account_id, added.target_id) == (account_a.pk, str(dave.pk))
    assert added.actor_email == operator.email and added.ip == IP
    assert added.details == {"email": dave.email, "role": "member", "via": "admin"}

    client.post(
        reverse("admin:accounts_membership_change", args=[membership.pk]),
        {"user": dave.pk, "account": account_a.pk, "role": Role.ADMIN, **WHEN},
    )
    [changed] = events("team.role_changed")
    assert changed.details == {
        "email": dave.email,
        "before": "member",
        "after": "admin",
        "via": "admin",
    }

    client.post(reverse("admin:accounts_membership_delete", args=[membership.pk]), {"post": "yes"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    [removed] = events("team.member_removed")
    assert removed.details == {"email": dave.email, "role": "admin", "via": "admin"}


def test_inline_role_change_on_the_account_page_is_audited(client, account_a, alice, bob):
    operator = make_operator()
    client.force_login(operator)
    page = client.get(reverse("admin:accounts_account_change", args=[account_a.pk]))
    assert page.status_code == 200
    memberships = list(Membership.objects.filter(account=account_a).order_by("id"))
    data = {
        "name": account_a.name,
        "plan": account_a.plan,
        "billing_email": account_a.billing_email,
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for index, membership in enumerate(memberships):
        data[f"memberships-{index}-id"] = membership.pk
        data[f"memberships-{index}-account"] = account_a.pk
        data[f"memberships-{index}-user"] = membership.user_id
        data[f"memberships-{index}-role"] = (
            Role.MEMBER if membership.user_id == bob.pk else membership.role
        )
    response = client.post(reverse("admin:accounts_account_change", args=[account_a.pk]), data)
    assert response.status_code == 302, response.content[:2000]
    assert Membership.objects.get(user=bob, account=account_a).role == Role.MEMBER
    [changed] = events("team.role_changed")
    assert changed.target_id == str(bob.pk)
    assert changed.details == {
        "email": bob.email,
        "before": "admin",
        "after": "member",
        "via": "admin",
    }
