"""The settings declarations, their rules and the snapshot, without Django's settings.

Each test builds a :class:`diffs.conf.Settings` of its own over a dict it gives
(``Settings(source)``), so nothing here reads or changes ``settings.DIFFS_SETTINGS``.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import pytest

from diffs import ConfigurationError
from diffs.conf import DEFAULT_REDIS, Settings, problems, unmapped_database_name
from diffs.storage.topology import KEYS as REDIS_KEYS
from tests.context_views import tenant_context

CONFIGURATION = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
DECLARED = {setting.key: setting for setting in Settings.declared()}


def snapshot(value):
    """Return a Settings reading ``value`` as DIFFS_SETTINGS, built."""
    made = Settings(lambda: value)
    made.reload()
    return made


def ids(raw):
    return [problem.check_id for problem in problems(raw)]


# -- one declaration per key, one check id per key ----------------------------------------------


def test_every_key_has_a_check_id_of_its_own():
    check_ids = [setting.check_id for setting in DECLARED.values()]
    assert len(set(check_ids)) == len(check_ids) == 32
    assert all(re.fullmatch(r"diffs\.E\d{3}", check_id) for check_id in check_ids)


def test_every_default_passes_its_own_rule():
    assert problems({key: setting.default for key, setting in DECLARED.items()}) == []


def test_the_defaults_are_the_documented_ones():
    values = snapshot({})
    assert (values.max_element_age, values.key_prefix, values.queue, values.enabled) == (
        3600, "diffs", "diffs", True)
    assert (values.publish, values.durability, values.publish_timeout) == (
        "background", "spool", 1.0)
    assert values.redis is DEFAULT_REDIS
    assert values.redis == {"host": "localhost", "port": 6379, "db": 0}
    assert (values.feed_permission, values.request_context, values.raw) == (None, None, {})


def documented_settings() -> dict[str, tuple[str, str]]:
    """Return the rows of the docs' settings table: ``{key: (default, check id)}``."""
    rows = re.findall(r"^\| `([\w.]+)` \| `(.+?)` \| .+ \| `(diffs\.E\d+)` \|$",
                      CONFIGURATION.read_text(), re.M)
    return {key: (default, check_id) for key, default, check_id in rows}


def test_the_docs_table_lists_every_key_with_its_default_and_check_id():
    documented = documented_settings()
    declared = {key: (setting.default, setting.check_id) for key, setting in DECLARED.items()}
    declared.update({f"redis.{key}": (default, rule.check_id)
                     for key, (default, rule) in REDIS_KEYS.items()})
    assert set(documented) == set(declared)
    for key, (default, check_id) in declared.items():
        assert documented[key] == (repr(default).replace("'", '"'), check_id), key


# -- the rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_element_age", 0), ("max_element_age", "1h"), ("max_element_age", True),
        ("max_element_age", 1.5), ("key_prefix", ""), ("key_prefix", "a b"),
        ("key_prefix", "diffs:*"), ("key_prefix", "{x}"), ("queue", 5), ("queue", "  "),
        ("enabled", "yes"), ("enabled", 1), ("raise_errors", 0), ("max_diff_bytes", None),
        ("prune_interval", -1), ("prune_interval", math.inf), ("resend_interval", math.nan),
        ("durability", "maybe"), ("publish_timeout", 0), ("publish", "later"),
        ("publish_batch_size", 0), ("publish_interval", "0.1"), ("publish_queue_size", "big"),
        ("outbox_resend_after", 0), ("write_max_retries", -1), ("write_retry_backoff_max", 0),
        ("max_unknown_label_diffs", -5), ("database_keys", {"replica": "r:1"}),
        ("database_keys", {"replica": ""}), ("database_keys", [("replica", "r")]),
        ("feed_limit", 0), ("feed_max_limit", "many"), ("feed_max_wait", -1),
        ("feed_permission", "tests.nowhere.allow"), ("feed_permission", 5),
        ("feed_permission", "tests.settings.SECRET_KEY"), ("request_context", "no dots"),
        ("redis", "redis://localhost"),
    ],
)
def test_a_bad_value_is_its_keys_problem_alone(key, value):
    (problem,) = problems({key: value})
    assert problem.check_id == DECLARED[key].check_id
    assert problem.message.startswith(f"DIFFS_SETTINGS[{key!r}] is {value!r}")
    assert problem.hint.startswith("Set it to ")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("prune_interval", 1, 1.0), ("publish_timeout", 0.25, 0.25), ("feed_max_wait", 0, 0.0),
        ("write_max_retries", 0, 0), ("key_prefix", "app-diffs", "app-diffs"),
        ("database_keys", {"replica": "r"}, {"replica": "r"}),
        ("request_context", "tests.context_views.tenant_context", tenant_context),
    ],
)
def test_a_good_value_reads_as_the_code_uses_it(key, value, expected):
    read_back = getattr(snapshot({key: value}), key)
    assert (read_back, type(read_back)) == (expected, type(expected))


def test_an_unknown_key_names_the_nearest_one():
    (problem,) = problems({"max_age": 5})
    assert problem.check_id == "diffs.E002"
    assert problem.message == "DIFFS_SETTINGS has an unknown key 'max_age'."
    assert problem.hint.startswith("Did you mean 'max_element_age'? Valid keys: database_keys,")


def test_a_key_that_is_not_a_string_is_unknown_too():
    assert ids({5: "x"}) == ["diffs.E002"]


def test_settings_that_are_not_a_dict_are_e001_and_name_no_storage():
    assert ids("redis://x") == ["diffs.E001"]
    values = snapshot("redis://x")
    assert values.max_element_age == 3600
    with pytest.raises(ConfigurationError, match=r"DIFFS_SETTINGS must be a dict.*diffs\.E001"):
        _ = values.redis


def test_a_redis_block_that_is_not_a_dict_names_no_storage():
    values = snapshot({"redis": "redis://elsewhere:6379/0", "queue": "q"})
    assert values.queue == "q"
    with pytest.raises(ConfigurationError, match=r"\['redis'\] is 'redis://elsewhere.*E200.*"
                                                 r"never falls back"):
        _ = values.redis


def test_a_feed_limit_over_the_maximum_is_lowered_to_it():
    assert ids({"feed_limit": 50, "feed_max_limit": 10}) == ["diffs.E120"]
    assert snapshot({"feed_limit": 50, "feed_max_limit": 10}).feed_limit == 10
    assert snapshot({"feed_max_limit": 10}).feed_limit == 10  # the default is bounded too
    assert ids({"feed_limit": 10, "feed_max_limit": 10}) == []


# -- the snapshot ---------------------------------------------------------------------------------


def test_a_read_is_a_plain_attribute_of_the_snapshot():
    values = snapshot({"queue": "q"})
    assert vars(values)["queue"] == "q"  # the descriptor is not consulted any more


def test_the_first_read_builds_the_snapshot_and_reload_renews_it():
    given = {"queue": "first"}
    values = Settings(lambda: given)
    assert "queue" not in vars(values)
    assert values.queue == "first"
    given = {"queue": "second"}
    assert values.queue == "first"  # until the settings change (setting_changed) and reload
    values.reload()
    assert values.queue == "second"


def test_a_bad_value_reads_as_the_default_with_one_error_per_build(caplog):
    caplog.set_level(logging.ERROR, logger="diffs")
    values = snapshot({"max_diff_bytes": None})
    assert [values.max_diff_bytes, values.max_diff_bytes] == [512 * 1024, 512 * 1024]
    (record,) = caplog.records
    assert record.getMessage() == (
        "diffs: DIFFS_SETTINGS['max_diff_bytes'] is None. Set it to a positive int of bytes, "
        "or remove it for the default 524288. (diffs.E106) Using the default instead."
    )


def test_a_callable_is_imported_once_per_build(monkeypatch):
    imported = []
    monkeypatch.setattr("diffs.conf.rules.import_string", lambda path: imported.append(path) or len)
    values = snapshot({"feed_permission": "anything.allow"})
    assert [values.feed_permission, values.feed_permission] == [len, len]
    assert imported == ["anything.allow"]
    assert values.raw["feed_permission"] == "anything.allow"  # the path, for messages


def test_a_callable_that_cannot_be_imported_says_why():
    (problem,) = problems({"request_context": "tests.nowhere.build"})
    assert "it cannot be imported: ModuleNotFoundError: No module named 'tests.nowhere'" in (
        problem.message)
    assert snapshot({"request_context": "tests.nowhere.build"}).request_context is None


def test_database_keys_map_aliases_and_the_rest_take_their_own_or_a_hashed_name():
    values = snapshot({"database_keys": {"replica": "r", "default": "main"}})
    assert values.database_key("replica") == "r"
    assert values.database_key("default") == "main"
    assert values.database_key("other") == "other"
    assert values.database_key("my db") == unmapped_database_name("my db")
    assert re.fullmatch(r"db-[0-9a-f]{12}", values.database_key("my db"))
    assert snapshot({}).database_key("default") == ""


def test_a_changed_database_keys_mapping_is_read_again_on_reload():
    given = {"database_keys": {"replica": "r"}}
    values = Settings(lambda: given)
    assert values.database_key("replica") == "r"
    given = {}
    values.reload()
    assert values.database_key("replica") == "replica"


def test_the_snapshot_keeps_the_redis_block_itself():
    block = {"url": "redis://h:1/0"}
    values, refused, found = Settings.read({"redis": block})
    assert values["redis"] is block and refused == {} and found == []
