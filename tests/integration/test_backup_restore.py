"""The backup and restore procedure of docs/operating.md, run: dump a storage with
``redis-cli --rdb``, start a new redis-server on the dump, read the histories back.

``redis-cli --rdb`` asks the running server for a snapshot over its own connection (what
``BGSAVE`` writes to the server's disk), so it works where the server's files are out of reach.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from diffs.storage import store
from diffs.storage.pruning import prune
from tests.integration.conftest import stored
from tests.testapp.models import Choice, Question
from tests.topology import HOST, Server, free_port, settle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.usefixtures("delivery")
def test_a_dumped_storage_restored_into_a_new_server_reads_the_same_histories(
    redis_server, storage, settings, tmp_path
):
    question = Question.objects.create(question_text="Before")
    choice = Choice.objects.create(question=question, choice_text="c")
    question.question_text = "After"
    question.save()
    before = [(d.id, d.new) for d in stored(question.diffs, 3)]  # its 2 and its choice's
    dump = tmp_path / "backup.rdb"
    subprocess.run([shutil.which("redis-cli") or "redis-cli", "-h", redis_server["host"],
                    "-p", str(redis_server["port"]), "--rdb", str(dump)],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    (tmp_path / str(port)).mkdir()
    shutil.copy(dump, tmp_path / str(port) / "dump.rdb")
    restored = Server(tmp_path, "--dbfilename", "dump.rdb", port=port)
    try:
        settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                                   "redis": {"url": f"redis://{HOST}:{port}/0"}}
        assert [(d.id, d.new) for d in stored(question.diffs, 3)] == before
        assert len(stored(choice.diffs, 1)) == 1
        with restored.client() as client:  # the TTLs and prune indexes came back too
            client.config_set("appendonly", "yes")  # the procedure's last step: AOF again
            settle(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0
                   and client.info("persistence")["aof_enabled"] == 1, "AOF rewritten")
            assert [(d.id, d.new) for d in stored(question.diffs, 3)] == before
            assert client.ttl(question.diffs.key) > 0
            assert prune(max_age=0, client=client).members_removed == 4
            assert store.count(client, question.diffs.key) == 0
    finally:
        restored.stop()
