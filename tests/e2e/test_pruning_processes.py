"""Pruning run by a real worker, and ``manage.py prune_diffs`` as a process: its exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from diffs_tasks.tasks import prune_diffs
from tests.conftest import wait_until
from tests.integration.test_pruning import HOUR, QUESTION, ids, put

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_prune_task_runs_on_the_worker(worker, storage):
    put(QUESTION, 1, 2 * HOUR)
    fresh = put(QUESTION, 1, 0)
    prune_diffs.apply_async(queue="diffs")
    wait_until(lambda: ids(storage, QUESTION, 1) == [fresh])


def test_command_exits_non_zero_when_redis_is_down(tmp_path):
    settings_module = tmp_path / "down_settings.py"
    settings_module.write_text(
        "from tests.settings import *\n"
        "DIFFS_SETTINGS = {'redis': {'url': 'redis://127.0.0.1:1/0', 'socket_timeout': 1}}\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "down_settings", "PYTHONPATH": f"{tmp_path}:."}
    done = subprocess.run(
        [sys.executable, "-m", "django", "prune_diffs"], env=env, cwd=ROOT, capture_output=True,
        text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "CommandError: Pruning failed" in done.stderr
