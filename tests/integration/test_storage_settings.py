"""The ``redis`` setting's three kinds of storage: their checks, what they connect to, W005."""

from __future__ import annotations

import pytest
import redis
import redis.cluster
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError

from diffs.checks import check_eviction_policy, check_redis_reachable, check_settings
from diffs.conf import StorageConfig, diffs_settings
from diffs.storage.connection import connect, get_redis, is_cluster
from tests.conftest import every_database

NODES = [{"host": "127.0.0.1", "port": 7000}, {"host": "127.0.0.1", "port": 7001}]
SENTINEL = {"sentinels": [["127.0.0.1", 26379]], "service_name": "mymaster"}


def ids(messages):
    return [message.id for message in messages]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"cluster": {}}, ["diffs.E021"]),
        ({"cluster": {"startup_nodes": []}}, ["diffs.E021"]),
        ({"cluster": {"startup_nodes": [{"host": "h"}]}}, ["diffs.E021"]),
        ({"cluster": {"startup_nodes": [{"host": "h", "port": "7000"}]}}, ["diffs.E021"]),
        ({"cluster": {"startup_nodes": [["h", 7000]]}}, ["diffs.E021"]),
        ({"cluster": {"url": "http://h:7000"}}, ["diffs.E021"]),
        ({"cluster": {"url": "redis://h:7000", "startup_nodes": NODES}}, ["diffs.E021"]),
        ({"cluster": "redis://h:7000"}, ["diffs.E021"]),
        ({"sentinel": {"service_name": "m"}}, ["diffs.E022"]),
        ({"sentinel": {**SENTINEL, "sentinels": []}}, ["diffs.E022"]),
        ({"sentinel": {**SENTINEL, "sentinels": [["h"]]}}, ["diffs.E022"]),
        ({"sentinel": {**SENTINEL, "sentinels": [["h", 0]]}}, ["diffs.E022"]),
        ({"sentinel": {**SENTINEL, "service_name": ""}}, ["diffs.E022"]),
        ({"sentinel": {**SENTINEL, "master": "m"}}, ["diffs.E022"]),
        ({"sentinel": {**SENTINEL, "sentinel_password": 5}}, ["diffs.E022"]),
        ({"cluster": {"startup_nodes": NODES}, "sentinel": SENTINEL}, ["diffs.E023"]),
        ({"cluster": {"startup_nodes": NODES}, "url": "redis://h"}, ["diffs.E023"]),
        ({"cluster": {"startup_nodes": NODES}, "db": 2}, ["diffs.E023"]),
        ({"sentinel": SENTINEL, "host": "h", "port": 6379}, ["diffs.E023"]),
    ],
)
def test_bad_cluster_or_sentinel_setting_is_an_error_with_a_hint(settings, block, expected):
    settings.DIFFS_SETTINGS = {"redis": block}
    errors = check_settings()
    assert ids(errors) == expected
    assert all(error.hint for error in errors)


@every_database
def test_manage_py_check_names_the_bad_cluster_setting(settings):
    settings.DIFFS_SETTINGS = {"redis": {"cluster": {"startup_nodes": []}}}
    with pytest.raises(SystemCheckError, match=r"diffs\.E021"):
        call_command("check")


@pytest.mark.parametrize(
    "block",
    [
        {"cluster": {"startup_nodes": NODES}, "password": "p", "socket_timeout": 2},
        {"cluster": {"url": "rediss://:p@h:7000"}},
        {"sentinel": {**SENTINEL, "sentinel_password": "s"}, "db": 3, "password": "p"},
    ],
)
def test_valid_cluster_and_sentinel_settings_pass(settings, block):
    settings.DIFFS_SETTINGS = {"redis": block}
    assert check_settings() == []


def test_the_storage_setting_says_what_to_connect_to(settings):
    settings.DIFFS_SETTINGS = {"redis": {"cluster": {"startup_nodes": NODES},
                                         "socket_timeout": 2, "password": "p"}}
    assert diffs_settings.storage == StorageConfig(
        "cluster", nodes=(("127.0.0.1", 7000), ("127.0.0.1", 7001)), socket_timeout=2.0,
        password="p")
    settings.DIFFS_SETTINGS = {"redis": {"sentinel": SENTINEL, "db": 3}}
    assert diffs_settings.storage == StorageConfig(
        "sentinel", nodes=(("127.0.0.1", 26379),), service_name="mymaster", db=3)
    settings.DIFFS_SETTINGS = {"redis": {"host": "h", "port": 1}}
    assert diffs_settings.storage == StorageConfig("server", url="redis://h:1/0")


def test_a_bad_kind_at_run_time_falls_back_to_one_server_and_logs(settings, caplog):
    settings.DIFFS_SETTINGS = {"redis": {"cluster": {"startup_nodes": []}, "port": 1}}
    assert diffs_settings.storage.kind == "server"
    assert "diffs.E021" in caplog.text


def test_clients_of_each_kind_are_made_without_connecting():
    cluster_config = StorageConfig("sentinel", nodes=(("127.0.0.1", 1),), service_name="m")
    assert isinstance(connect(cluster_config), redis.Redis)
    assert not is_cluster(connect(StorageConfig("server", url="redis://127.0.0.1:1/0")))


def test_the_cluster_client_is_a_cluster_client(cluster_storage):
    assert is_cluster(get_redis())
    assert get_redis() is get_redis()


# --- W005: an allkeys-* maxmemory-policy evicts diffs ---------------------------------------


@pytest.fixture
def policy(storage):
    before = storage.config_get("maxmemory-policy")["maxmemory-policy"]
    yield lambda value: storage.config_set("maxmemory-policy", value)
    storage.config_set("maxmemory-policy", before)


@pytest.mark.parametrize("value", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_an_allkeys_policy_is_a_deploy_warning(policy, value):
    policy(value)
    (warning,) = check_eviction_policy()
    assert warning.id == "diffs.W005"
    assert value in warning.msg and "noeviction" in warning.hint


@pytest.mark.parametrize("value", ["noeviction", "volatile-lru", "volatile-ttl"])
def test_noeviction_and_volatile_policies_pass(policy, value):
    policy(value)
    assert check_eviction_policy() == []


@every_database
def test_check_deploy_reports_w005(policy):
    policy("allkeys-lru")
    with pytest.raises(SystemCheckError, match=r"diffs\.W005"):
        call_command("check", "--deploy", "--fail-level", "WARNING")


def test_one_allkeys_master_of_the_cluster_is_a_warning(cluster_storage, redis_cluster):
    assert check_eviction_policy() == []
    master = redis_cluster.masters()[1]
    with master.client() as client:
        client.config_set("maxmemory-policy", "allkeys-lru")
        try:
            assert ids(check_eviction_policy()) == ["diffs.W005"]
        finally:
            client.config_set("maxmemory-policy", "noeviction")


def test_a_storage_that_refuses_config_is_skipped_quietly(settings, storage, redis_server):
    # What a managed Redis does: the application's user may not run CONFIG.
    storage.acl_setuser("diffs-no-config", enabled=True, passwords=["+pw"], keys=["*"],
                        channels=["*"], commands=["+@all", "-config"])
    storage.config_set("maxmemory-policy", "allkeys-lru")
    try:
        settings.DIFFS_SETTINGS = {"redis": {
            "url": f"redis://diffs-no-config:pw@{redis_server['host']}:{redis_server['port']}/0"}}
        with pytest.raises(redis.exceptions.NoPermissionError):
            get_redis().config_get("maxmemory-policy")
        assert check_eviction_policy() == []
    finally:
        storage.config_set("maxmemory-policy", "noeviction")
        storage.acl_deluser("diffs-no-config")


def test_an_unreachable_storage_is_left_to_e020(settings):
    settings.DIFFS_SETTINGS = {"redis": {"url": "redis://127.0.0.1:1/0", "socket_timeout": 0.2}}
    assert check_eviction_policy() == []


def test_an_unreachable_cluster_is_a_connection_error_and_e020(settings):
    settings.DIFFS_SETTINGS = {"redis": {"cluster": {"startup_nodes": [
        {"host": "127.0.0.1", "port": 1}]}, "socket_timeout": 0.5}}
    with pytest.raises(redis.ConnectionError, match="cannot be connected"):
        get_redis()
    (error,) = check_redis_reachable()
    assert error.id == "diffs.E020" and "cluster 127.0.0.1:1" in error.msg
    with pytest.raises(CommandError, match="did not answer"):
        call_command("prune_diffs")
