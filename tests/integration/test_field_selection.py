"""``fields=`` / ``exclude=`` decide what is ever recorded; unknown names fail at registration."""

import pytest
from django.db import models
from django.test.utils import isolate_apps

import diffs
from diffs import InvalidOption, UnknownField
from diffs.registry import registration_for_label
from tests.conftest import wait_for_diffs
from tests.testapp.models import Account

SECRET = "pbkdf2_sha256$never-in-redis"


@pytest.mark.django_db(transaction=True)
def test_excluded_secret_never_reaches_redis(worker, storage):
    account = Account.objects.create(username="ann", password=SECRET)
    account.password = SECRET + "-rotated"
    account.save()  # changes only the excluded field: nothing to record
    account.username = "anna"
    account.save()
    pk = account.pk
    account.delete()
    created, renamed, deleted = wait_for_diffs(Account.diffs.get_by_object_id(pk), 3)
    assert created.new == {"username": "ann"}
    assert renamed.old == {"username": "ann"}
    assert deleted.old == {"username": "anna"}
    stored = [
        member
        for key in storage.scan_iter("*")
        if storage.type(key) == "zset"
        for member in storage.zrange(key, 0, -1)
    ]
    assert stored and not any("never-in-redis" in member for member in stored)


@pytest.mark.parametrize("option", ["fields", "exclude"])
def test_unknown_field_name_is_a_clear_error_at_registration(option):
    with isolate_apps("tests.testapp"), pytest.raises(UnknownField) as error:

        @diffs.register(**{option: ["username", "pasword"]})
        class Login(models.Model):
            username = models.CharField(max_length=50)
            password = models.CharField(max_length=128)

            class Meta:
                app_label = "testapp"

    assert str(error.value) == (
        f"testapp.Login has no recordable field 'pasword' (named in {option}=). "
        "Choose from: password, username."
    )
    assert registration_for_label("testapp.login") is None


def test_field_names_must_be_a_list_not_a_string():
    refused = pytest.raises(InvalidOption, match="not the string 'secret'")
    with isolate_apps("tests.testapp"), refused:

        @diffs.register(exclude="secret")
        class Vault(models.Model):
            secret = models.CharField(max_length=50)

            class Meta:
                app_label = "testapp"
