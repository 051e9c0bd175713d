"""``fields=`` / ``exclude=`` naming an unknown field, or not a list, fail at registration."""

import pytest
from django.db import models
from django.test.utils import isolate_apps

import diffs
from diffs import InvalidOption, UnknownField
from diffs.registry import registration_for_label


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
