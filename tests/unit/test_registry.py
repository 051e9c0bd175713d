"""``@diffs.register``: what it accepts, what it refuses, and what it leaves alone."""

import pytest
from django.db import models
from django.db.migrations.state import ModelState
from django.test.utils import isolate_apps

import diffs
from diffs import registry
from diffs.exceptions import (
    AlreadyRegistered,
    InvalidOption,
    NotAModel,
    NotRegistered,
    UnsavedInstance,
)
from diffs.registry import get_registration
from tests.testapp.models import Plain, Question


def make_model(name, **fields):
    """Return a new model class of an app label that no migration or other test looks at."""
    attrs = {"__module__": __name__, "Meta": type("Meta", (), {"app_label": "dynamic"})}
    attrs.update(fields or {"name": models.CharField(max_length=10)})
    return type(name, (models.Model,), attrs)


def test_register_returns_the_class_and_works_as_a_call():
    model = make_model("RegisteredByCall")
    assert diffs.register(model) is model
    assert diffs.is_registered(model)


def test_registering_does_not_change_what_migrations_see():
    model = make_model("Migrated")
    before = ModelState.from_model(model)
    diffs.register(model)
    after = ModelState.from_model(model)
    assert after.bases == before.bases == (models.Model,)
    assert {name: f.deconstruct()[1:] for name, f in after.fields.items()} == {
        name: f.deconstruct()[1:] for name, f in before.fields.items()
    }


def test_registering_twice_is_an_error():
    with pytest.raises(AlreadyRegistered, match="already registered"):
        diffs.register(Question)


@pytest.mark.parametrize("thing", [object, Question(), "Question", 5])
def test_registering_a_non_model_is_an_error(thing):
    with pytest.raises(NotAModel, match="takes a Django model class"):
        diffs.register(thing)


def test_registering_an_abstract_model_is_an_error():
    abstract = type("Abstract", (models.Model,), {
        "__module__": __name__, "Meta": type("Meta", (), {"abstract": True, "app_label": "x"})
    })
    with pytest.raises(NotAModel, match="abstract"):
        diffs.register(abstract)


def test_fields_and_exclude_together_are_an_error():
    with pytest.raises(InvalidOption, match="either fields= or exclude="):
        diffs.register(fields=["name"], exclude=["name"])(make_model("Both"))


@pytest.mark.parametrize("age", [0, -5, 1.5, "60", True])
def test_bad_max_element_age_is_an_error(age):
    with pytest.raises(InvalidOption, match="positive int"):
        diffs.register(max_element_age=age)(make_model(f"Aged{abs(hash(str(age)))}"))


def test_a_model_with_a_field_named_diffs_cannot_be_registered():
    model = make_model("HasDiffs", diffs=models.IntegerField(default=0))
    with pytest.raises(AlreadyRegistered, match="attribute named 'diffs'"):
        diffs.register(model)


def test_reading_an_unsaved_instance_is_an_error():
    with pytest.raises(UnsavedInstance, match="save it"):
        Question(question_text="unsaved").diffs  # noqa: B018


def test_unregistered_model_has_no_diffs_and_lookups_say_why():
    assert not hasattr(Plain, "diffs")
    with pytest.raises(NotRegistered, match=r"@diffs\.register"):
        get_registration(Plain)


def test_bad_pk_for_get_by_object_id_is_a_clear_error():
    with pytest.raises(ValueError, match="not a valid pk"):
        Question.diffs.get_by_object_id("not-a-number")


def test_registering_a_proxy_of_a_registered_model_says_it_is_recorded_already():
    with isolate_apps("tests.testapp"):  # or makemigrations would see a new proxy in testapp
        proxy = type("AnotherQuestionProxy", (Question,), {
            "__module__": __name__,
            "Meta": type("Meta", (), {"proxy": True, "app_label": "testapp"}),
        })
    with pytest.raises(NotAModel, match=r"proxy of testapp\.Question, which is registered.*"
                                        r"already recorded.*Remove @diffs\.register"):
        diffs.register(proxy)
    assert diffs.is_registered(proxy)  # its saves are recorded, in Question's history


def test_registering_a_proxy_of_an_unregistered_model_says_to_register_the_model():
    concrete = make_model("Concrete")
    proxy = type("ConcreteProxy", (concrete,), {
        "__module__": __name__, "Meta": type("Meta", (), {"proxy": True, "app_label": "dynamic"})
    })
    with pytest.raises(NotAModel, match=r"register dynamic\.Concrete itself "
                                        r"\(diffs\.register\(Concrete\)"):
        diffs.register(fields=["name"])(proxy)
    assert not diffs.is_registered(proxy) and not diffs.is_registered(concrete)


@pytest.mark.parametrize("squash", [1, "yes"])
def test_bad_squash_is_an_error(squash):
    with pytest.raises(InvalidOption, match="squash must be True, False or None"):
        diffs.register(squash=squash)(make_model(f"Squash{abs(hash(str(squash)))}"))


def test_a_model_squashes_as_registered_else_as_the_setting(settings):
    models_ = [
        diffs.register(squash=True)(make_model("SquashOn")),
        diffs.register(squash=False)(make_model("SquashOff")),
        diffs.register(make_model("SquashUnsaid")),
    ]
    labels = [model._meta.label_lower for model in models_]
    assert [registry.squashes(label) for label in labels] == [True, False, False]
    assert registry.squashing()  # a model registered with squash=True
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "squash": True}
    assert [registry.squashes(label) for label in labels] == [True, False, True]
