"""The ``redis`` setting: three kinds of storage, a block that names none (no fallback), W005."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.cluster
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError

from diffs import ConfigurationError
from diffs.checks import check_eviction_policy, check_redis_reachable, check_settings
from diffs.models import PendingDiff
from diffs.storage.connection import connect, get_redis, is_cluster
from diffs.storage.topology import StorageConfig, configured
from tests.conftest import every_database
from tests.connect_guard import connections
from tests.testapp.models import Question

NODES = [{"host": "127.0.0.1", "port": 7000}, {"host": "127.0.0.1", "port": 7001}]
SENTINEL = {"sentinels": [["127.0.0.1", 26379]], "service_name": "mymaster"}


def ids(messages):
    return [message.id for message in messages]


def test_the_storage_follows_the_settings(settings):
    settings.DIFFS_SETTINGS = {"redis": {"cluster": {"startup_nodes": NODES},
                                         "socket_timeout": 2, "password": "p"}}
    assert configured() == StorageConfig(
        "cluster", nodes=(("127.0.0.1", 7000), ("127.0.0.1", 7001)), socket_timeout=2.0,
        password="p")
    settings.DIFFS_SETTINGS = {"redis": {"sentinel": SENTINEL, "db": 3}}
    assert configured() == StorageConfig(
        "sentinel", nodes=(("127.0.0.1", 26379),), service_name="mymaster", db=3)
    settings.DIFFS_SETTINGS = {"redis": {"host": "h", "port": 1}}
    assert configured() == StorageConfig("server", url="redis://h:1/0")
    settings.DIFFS_SETTINGS = {}
    assert configured() == StorageConfig("server", url="redis://localhost:6379/0")


# --- a storage location never falls back (issue 22, item 4) ----------------------------------

#: Settings that name no storage, and what the error says. Any of them read as the default
#: would send diffs to localhost:6379.
NO_STORAGE = [
    pytest.param({"redis": {"urll": "redis://127.0.0.1:1/0"}},
                 r"unknown key 'urll'\. Did you mean 'url'\?.*diffs\.E201", id="typo"),
    pytest.param({"redis": {"cluster": {"startup_nodes": []}, "port": 1}},
                 r"\['cluster'\] is \{'startup_nodes': \[\]\}.*diffs\.E211", id="cluster"),
    pytest.param({"redis": {"sentinel": {"sentinels": [["127.0.0.1", 1]]}}},
                 r"\['sentinel'\].*diffs\.E212", id="sentinel"),
    pytest.param({"redis": {"cluster": {"url": "redis://127.0.0.1:1"}, "sentinel": SENTINEL}},
                 r"both a cluster and a sentinel.*diffs\.E202", id="both"),
    pytest.param({"redis": {"port": "6380"}}, r"\['port'\] is '6380'.*diffs\.E205",
                 id="bad-value"),
    pytest.param({"redis": "redis://127.0.0.1:1/0"}, r"\['redis'\] is 'redis://.*diffs\.E200",
                 id="not-a-dict"),
    pytest.param("redis://127.0.0.1:1/0", r"must be a dict, not str.*diffs\.E001",
                 id="settings-not-a-dict"),
]


@pytest.mark.parametrize(("value", "message"), NO_STORAGE)
def test_a_read_raises_a_configuration_error_before_any_connection(settings, value, message):
    settings.DIFFS_SETTINGS = value
    with connections() as attempts:
        with pytest.raises(ConfigurationError, match=message + ".*never falls back"):
            list(Question.diffs.get_by_object_id(1))
        with pytest.raises(ConfigurationError, match=message):
            asyncio.run(_read_async())
    assert attempts == []


async def _read_async():
    return await Question.diffs.get_by_object_id(1).apage(None, 10)


@pytest.fixture
def typo(settings):
    """The ``redis`` block with ``urll`` for ``url``: a shell, a worker or WSGI runs no check."""
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "redis": {"urll": "redis://x:1/0"}}


@pytest.mark.django_db
@pytest.mark.usefixtures("typo")
def test_the_feed_answers_500_and_logs_the_key(client, django_user_model, diffs_log):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    response = client.get("/diffs/testapp.question/1/")
    assert response.status_code == 500
    assert response.json() == {
        "error": "the diffs storage is not configured correctly; see the server log"}
    assert any("unknown key 'urll'" in record.getMessage() for record in diffs_log)


@pytest.mark.django_db
@pytest.mark.usefixtures("typo")
def test_the_admin_changes_page_is_a_500_naming_the_key(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    question = Question.objects.create(question_text="q")
    response = client.get(f"/admin/testapp/question/{question.pk}/changes/")
    assert response.status_code == 500
    assert "admin/base_site.html" in [t.name for t in response.templates]
    assert "unknown key &#x27;urll&#x27;. Did you mean &#x27;url&#x27;?" in (
        response.content.decode())


@pytest.mark.usefixtures("typo")
@pytest.mark.parametrize("command", [("show_diffs", "testapp.question", "1"), ("prune_diffs",)])
def test_the_commands_fail_with_a_command_error_naming_the_key(command):
    with pytest.raises(CommandError, match=r"unknown key 'urll'\. Did you mean 'url'"):
        call_command(*command)


@pytest.mark.usefixtures("typo")
def test_the_deploy_check_leaves_it_to_the_settings_errors():
    assert check_redis_reachable() == []
    assert ids(check_settings()) == ["diffs.E201"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("typo", "eager")
def test_a_write_keeps_its_diffs_in_the_database_and_the_save_succeeds(diffs_log):
    with connections() as attempts:
        question = Question.objects.create(question_text="kept")
        question.question_text = "kept again"
        question.save()
    assert attempts == []
    assert PendingDiff.objects.count() == 2
    kept = [r.getMessage() for r in diffs_log if "kept in the database" in r.getMessage()]
    assert len(kept) == 2
    assert "the storage settings are wrong, nothing is stored" in kept[0]
    assert "unknown key 'urll'" in kept[0]
    assert not any("retry" in r.getMessage() for r in diffs_log)


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
