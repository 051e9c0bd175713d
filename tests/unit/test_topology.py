"""The ``redis`` block's rules and what it says the storage is, without any connection."""

from __future__ import annotations

import pytest

from diffs import ConfigurationError
from diffs.storage.topology import KEYS, StorageConfig, problems, storage_config

NODES = [{"host": "127.0.0.1", "port": 7000}, {"host": "127.0.0.1", "port": 7001}]
SENTINEL = {"sentinels": [["127.0.0.1", 26379]], "service_name": "mymaster"}


def ids(block):
    return [problem.check_id for problem in problems(block)]


def test_every_key_of_the_block_has_a_check_id_of_its_own():
    check_ids = [rule.check_id for _, rule in KEYS.values()]
    assert len(set(check_ids)) == len(check_ids)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"urll": "redis://h"}, ["diffs.E201"]),
        ({"url": "http://localhost"}, ["diffs.E203"]),
        ({"url": "redis://[::1"}, ["diffs.E203"]),
        ({"host": ""}, ["diffs.E204"]),
        ({"port": "6379"}, ["diffs.E205"]),
        ({"port": 70000}, ["diffs.E205"]),
        ({"db": -1}, ["diffs.E206"]),
        ({"password": 5}, ["diffs.E207"]),
        ({"username": 5}, ["diffs.E208"]),
        ({"ssl": "true"}, ["diffs.E209"]),
        ({"socket_timeout": "x"}, ["diffs.E210"]),
        ({"cluster": {}}, ["diffs.E211"]),
        ({"cluster": {"startup_nodes": []}}, ["diffs.E211"]),
        ({"cluster": {"startup_nodes": [{"host": "h"}]}}, ["diffs.E211"]),
        ({"cluster": {"startup_nodes": [{"host": "h", "port": "7000"}]}}, ["diffs.E211"]),
        ({"cluster": {"startup_nodes": [["h", 7000]]}}, ["diffs.E211"]),
        ({"cluster": {"url": "http://h:7000"}}, ["diffs.E211"]),
        ({"cluster": {"url": "unix:///tmp/redis.sock"}}, ["diffs.E211"]),
        ({"cluster": {"url": "redis://h:7000", "startup_nodes": NODES}}, ["diffs.E211"]),
        ({"cluster": "redis://h:7000"}, ["diffs.E211"]),
        ({"sentinel": {"service_name": "m"}}, ["diffs.E212"]),
        ({"sentinel": {**SENTINEL, "sentinels": []}}, ["diffs.E212"]),
        ({"sentinel": {**SENTINEL, "sentinels": [["h"]]}}, ["diffs.E212"]),
        ({"sentinel": {**SENTINEL, "sentinels": [["h", 0]]}}, ["diffs.E212"]),
        ({"sentinel": {**SENTINEL, "service_name": ""}}, ["diffs.E212"]),
        ({"sentinel": {**SENTINEL, "master": "m"}}, ["diffs.E212"]),
        ({"sentinel": {**SENTINEL, "sentinel_password": 5}}, ["diffs.E212"]),
        ({"cluster": {"startup_nodes": NODES}, "sentinel": SENTINEL}, ["diffs.E202"]),
        ({"cluster": {"startup_nodes": NODES}, "url": "redis://h"}, ["diffs.E202"]),
        ({"cluster": {"startup_nodes": NODES}, "db": 2}, ["diffs.E202"]),
        ({"sentinel": SENTINEL, "host": "h", "port": 6379}, ["diffs.E202"]),
        ({"urll": "redis://h", "port": "1"}, ["diffs.E201", "diffs.E205"]),
    ],
)
def test_each_problem_has_the_id_of_its_key_and_names_no_fallback(block, expected):
    found = problems(block)
    assert [problem.check_id for problem in found] == expected
    assert all(problem.hint and "never falls back" in problem.outcome for problem in found)
    with pytest.raises(ConfigurationError) as raised:
        storage_config(block)
    assert all(problem.check_id in str(raised.value) for problem in found)


def test_a_typo_names_the_key_it_meant():
    (problem,) = problems({"urll": "redis://h:1/0"})
    assert problem.message == "DIFFS_SETTINGS['redis'] has an unknown key 'urll'."
    assert problem.hint.startswith("Did you mean 'url'? Valid keys: cluster, db, host,")


def test_a_bad_value_is_named_with_the_fix():
    with pytest.raises(ConfigurationError) as raised:
        storage_config({"port": "6380"})
    assert str(raised.value) == (
        "DIFFS_SETTINGS['redis']['port'] is '6380'. Set it to a TCP port number, or remove it "
        "for the default 6379. (diffs.E205) django-diffs stores and reads no diffs until it is "
        "fixed: a storage location never falls back to the default."
    )


@pytest.mark.parametrize(
    "block",
    [
        {},
        {"host": "h", "port": 6380, "db": 2, "password": "p", "ssl": True, "socket_timeout": 1},
        {"url": "unix:///tmp/redis.sock"},
        {"cluster": {"startup_nodes": NODES}, "password": "p", "socket_timeout": 2},
        {"cluster": {"url": "rediss://:p@h:7000"}},
        {"sentinel": {**SENTINEL, "sentinel_password": "s"}, "db": 3, "password": "p"},
    ],
)
def test_valid_blocks_have_no_problem(block):
    assert problems(block) == []


def test_one_server_from_host_port_db_or_a_url_which_wins():
    assert storage_config({}) == StorageConfig("server", url="redis://localhost:6379/0")
    assert storage_config({"host": "h", "port": 6380, "db": 2, "password": "p", "ssl": True,
                           "socket_timeout": 1}) == StorageConfig(
        "server", url="rediss://:p@h:6380/2", socket_timeout=1.0)
    assert storage_config({"password": "p/w", "username": "me"}).url == (
        "redis://me:p%2Fw@localhost:6379/0")
    assert storage_config({"url": "redis://u:p@example:1/3", "host": "ignored"}).url == (
        "redis://u:p@example:1/3")


def test_a_cluster_and_a_sentinel():
    assert storage_config({"cluster": {"startup_nodes": NODES}, "socket_timeout": 2,
                           "password": "p"}) == StorageConfig(
        "cluster", nodes=(("127.0.0.1", 7000), ("127.0.0.1", 7001)), socket_timeout=2.0,
        password="p")
    assert storage_config({"cluster": {"url": "redis://h:7000"}}) == StorageConfig(
        "cluster", url="redis://h:7000")
    assert storage_config({"sentinel": {**SENTINEL, "sentinel_password": "s"}, "db": 3}) == (
        StorageConfig("sentinel", nodes=(("127.0.0.1", 26379),), service_name="mymaster", db=3,
                      sentinel_password="s"))


def test_a_block_that_is_not_a_dict_is_refused_too():
    assert problems("redis://h") == []  # diffs.E200, a problem of the settings themselves
    with pytest.raises(ConfigurationError, match="must be a dict"):
        storage_config("redis://h")
