"""Account.objects.by_id_or_name: the one way every operator command finds --account/ACCOUNT."""

import io

import pytest
from django.core.management import CommandError, call_command

from statuspool.accounts.management.arguments import account_from
from statuspool.accounts.models import Account

pytestmark = pytest.mark.django_db


def test_by_id_then_by_exact_name(account_a, account_b):
    assert Account.objects.by_id_or_name(str(account_b.pk)) == account_b
    assert Account.objects.by_id_or_name("Acme Monitoring") == account_a
    with pytest.raises(Account.DoesNotExist, match="No account with id or name 'acme monitoring'"):
        Account.objects.by_id_or_name("acme monitoring")


def test_a_number_that_is_no_id_is_tried_as_a_name(account_a):
    numbered = Account.objects.create(name="2024", plan="team", billing_email="b@x.test")
    assert Account.objects.by_id_or_name("2024") == numbered
    with pytest.raises(Account.DoesNotExist):
        Account.objects.by_id_or_name("999999")


def test_several_accounts_with_one_name_need_the_id(account_a):
    twin = Account.objects.create(name=account_a.name, plan="team", billing_email="t@x.test")
    with pytest.raises(Account.MultipleObjectsReturned, match="use the account id instead"):
        Account.objects.by_id_or_name("Acme Monitoring")
    assert Account.objects.by_id_or_name(str(twin.pk)) == twin


def test_commands_of_every_app_answer_alike(account_a):
    Account.objects.create(name=account_a.name, plan="team", billing_email="t@x.test")
    with pytest.raises(CommandError) as direct:
        account_from("Acme Monitoring")
    for command in (
        ["listapikeys", "--account", "Acme Monitoring"],
        ["verify_audit_log", "--account", "Acme Monitoring", "--no-progress"],
        ["export_audit_log", "--account", "Acme Monitoring"],
    ):
        with pytest.raises(CommandError) as raised:
            call_command(*command, stdout=io.StringIO(), stderr=io.StringIO())
        assert str(raised.value) == str(direct.value), command
