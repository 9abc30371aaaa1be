"""Issue 16 §4, each defect reproduced: forms say and show only what is true."""

import pytest
from django.urls import reverse

from apikeys.models import ApiKey
from apikeys.replacement import apikey_rotate
from statuspool.accounts.models import TOTPDevice
from tests.apikeys.helpers import sudo_data
from tests.conftest import login

pytestmark = pytest.mark.django_db

HERE = "203.0.113.7"


@pytest.fixture
def enterprise(account_a):
    account_a.plan = "enterprise"
    account_a.save(update_fields=["plan"])
    return account_a


@pytest.fixture
def key(make_key, alice):
    return make_key(name="prod-monitoring-cli", created_by=alice)[0]


def allowlist_url(key):
    return f"/settings/api-access/{key.public_id}/allowlist/"


def test_a_typed_code_is_never_put_back_after_an_error(client, alice, enterprise, key):
    login(client, alice)
    data = sudo_data(alice, add="203.0.113.7/24")  # a typo: refused before sudo is checked
    page = client.post(allowlist_url(key), data, REMOTE_ADDR=HERE).content.decode()
    assert "did you mean 203.0.113.0/24?" in page
    assert f'value="{data["otp_code"]}"' not in page
    assert 'name="otp_code"' in page


def test_an_invalid_login_code_is_not_left_in_the_field(client, alice):
    client.post(reverse("accounts:login"), {"email": alice.email, "password": "x"})
    from tests.conftest import PASSWORD

    client.post(reverse("accounts:login"), {"email": alice.email, "password": PASSWORD})
    page = client.post(reverse("accounts:login_verify"), {"code": "000000"}).content.decode()
    assert 'name="code"' in page and 'value="000000"' not in page


def test_team_plan_without_blocks_shows_no_form(client, alice, account_a, key):
    login(client, alice)
    page = client.get(allowlist_url(key)).content.decode()
    assert "Enterprise" in page
    assert "Save IP restrictions" not in page and 'name="otp_code"' not in page


def test_the_allowlist_offers_the_current_address_in_one_click(client, alice, enterprise, key):
    login(client, alice)
    page = client.get(allowlist_url(key), REMOTE_ADDR=HERE).content.decode()
    assert f"Your current address is <code>{HERE}</code>" in page
    assert f'data-value="{HERE}/32"' in page and 'data-append-to="id_add"' in page


def test_saving_a_list_that_excludes_my_address_asks_first(client, alice, enterprise, key):
    login(client, alice)
    response = client.post(
        allowlist_url(key), sudo_data(alice, add="198.51.100.0/24"), REMOTE_ADDR=HERE
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Your current address {HERE} is not in this list" in page
    assert 'name="accept_lockout"' in page
    key.refresh_from_db()
    assert key.allowed_networks == []
    assert TOTPDevice.objects.get(user=alice).last_used_step == 0  # the code is not spent
    response = client.post(
        allowlist_url(key),
        sudo_data(alice, add="198.51.100.0/24", accept_lockout="on"),
        REMOTE_ADDR=HERE,
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.allowed_networks == ["198.51.100.0/24"]


def test_a_list_including_my_address_saves_without_a_question(client, alice, enterprise, key):
    login(client, alice)
    response = client.post(
        allowlist_url(key), sudo_data(alice, add="203.0.113.0/24"), REMOTE_ADDR=HERE
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.allowed_networks == ["203.0.113.0/24"]


def test_edit_scopes_asks_for_confirmation_only_when_adding(client, alice, key):
    login(client, alice)
    page = client.get(f"/settings/api-access/{key.public_id}/scopes/").content.decode()
    assert '<div data-needed-when-adding="monitors:read">' in page
    # Removing needs no confirmation on the server either.
    response = client.post(
        f"/settings/api-access/{key.public_id}/scopes/", {"scopes": ["monitors:read"]}
    )
    assert response.status_code in (200, 302)


def test_a_rotated_out_key_offers_no_settings_only_its_replacement(
    client, alice, key, system_actor
):
    new, _ = apikey_rotate(key=key, actor=system_actor, expire_old_in="7d")
    login(client, alice)
    page = client.get(f"/settings/api-access/{key.public_id}/").content.decode()
    assert "Edit scopes" not in page
    assert 'id="restrictions"' not in page
    assert f'href="/settings/api-access/{new.public_id}/"' in page
    assert "Revoke" in page
    fresh = client.get(f"/settings/api-access/{new.public_id}/").content.decode()
    assert "Edit scopes" in fresh and 'id="restrictions"' in fresh
    assert ApiKey.objects.get(pk=key.pk).grace_ends_at is not None


def test_oauth_delete_page_does_not_claim_nobody_connected(client, alice, account_a):
    from audit.services import Actor
    from oauthapps import services
    from tests.oauthapps.helpers import register_app

    app, _secret = register_app(account_a, user=alice)
    url = f"/settings/oauth-applications/{app.pk}/delete/"
    login(client, alice)
    assert "Nobody has connected it yet" in client.get(url).content.decode()
    authorization = services.authorization_approve(
        user=alice,
        application=app,
        account=account_a,
        scopes=["monitors:read"],
        actor=Actor.system("t"),
    )
    services.authorization_revoke(authorization=authorization, actor=Actor.system("t"))
    page = client.get(url).content.decode()
    assert "Nobody has connected it yet" not in page
    assert "Every grant it had was revoked already" in page


def test_no_second_warning_when_the_list_already_left_me_out(client, alice, enterprise, key):
    ApiKey.objects.filter(pk=key.pk).update(allowed_networks=["198.51.100.0/24", "192.0.2.0/24"])
    login(client, alice)
    response = client.post(
        allowlist_url(key), sudo_data(alice, remove=["192.0.2.0/24"]), REMOTE_ADDR=HERE
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.allowed_networks == ["198.51.100.0/24"]
