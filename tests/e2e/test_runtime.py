"""The runtime (diffs.transport.runtime): nothing at import, its process hooks at first use.

The process-level checks run in a fresh interpreter (a subprocess), which records every atexit
hook, fork hook and multiprocessing finalizer registered in it, and who registered it. Its
broker is kombu's in-memory transport: no server is needed to publish.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery

import diffs
from diffs.transport import runtime, sink
from tests import payloads
from tests.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import atexit, json, os, sys, threading
import multiprocessing.util

seen = []  # (what, module of the callback) of every registration from here on
register_atexit, register_at_fork = atexit.register, os.register_at_fork


def recording_atexit(func, *args, **kwargs):
    seen.append(["atexit", func.__module__])
    return register_atexit(func, *args, **kwargs)


def recording_at_fork(**hooks):
    seen.extend([f"fork {when}", getattr(func, "__module__", None)] for when, func in hooks.items())
    return register_at_fork(**hooks)


class RecordingFinalize(multiprocessing.util.Finalize):
    def __init__(self, obj, callback, *args, **kwargs):
        seen.append(["finalizer", callback.__module__])
        super().__init__(obj, callback, *args, **kwargs)


atexit.register, os.register_at_fork = recording_atexit, recording_at_fork
multiprocessing.util.Finalize = RecordingFinalize
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
from django.core.signals import setting_changed

import diffs

django.setup()
from django.conf import settings
from celery import Celery
from diffs.transport import sink
from tests import payloads

report = {}


def ours():
    return [what for what, module in seen if (module or "").startswith("diffs")]


def threads():
    return sorted(thread.name for thread in threading.enumerate())


def step(name):
    report[name] = {"hooks": ours(), "threads": threads(), "stats": diffs.stats(),
                    "atexit_callbacks": atexit._ncallbacks()}
    seen.clear()


step("imported and set up")
report["receiver at setup"] = setting_changed.disconnect(
    dispatch_uid="diffs.runtime.settings_changed")  # True only if it was connected
Celery("hooks", broker="memory://").set_current()
settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "publish_interval": 600,
                           "publish_batch_size": 1000}
sink.deliver([payloads.diff()])
step("first publish")
sink.deliver([payloads.diff()])
step("second publish")
child = os.fork()
if child == 0:  # the child: no runtime until its own first publish
    report = {}
    step("child after the fork")
    sink.deliver([payloads.diff()])
    step("child's first publish")
    diffs.flush(10)
    print(json.dumps(report), flush=True)
    os._exit(0)
os.waitpid(child, 0)
step("parent after the fork")
report["receiver at the end"] = setting_changed.disconnect(
    dispatch_uid="diffs.runtime.settings_changed")
print(json.dumps(report), flush=True)
"""


def test_ncallbacks_counts_registered_atexit_hooks():
    # atexit._ncallbacks() is CPython's private counter; the test below reads it, this pins it.
    before = atexit._ncallbacks()

    def hook():
        pass

    atexit.register(hook)
    try:
        assert atexit._ncallbacks() == before + 1
    finally:
        atexit.unregister(hook)  # (the count need not drop again: 3.13's does not)


@pytest.fixture(scope="module")
def steps() -> dict:
    run = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    child, parent = (json.loads(line) for line in run.stdout.splitlines())
    return {**parent, **child}


def test_importing_and_setting_up_registers_no_hook_and_starts_no_thread(steps):
    setup = steps["imported and set up"]
    assert setup["hooks"] == []
    assert setup["threads"] == ["MainThread"]
    assert steps["receiver at setup"] is False
    assert setup["stats"] == dict.fromkeys(setup["stats"], 0)


def test_the_first_publish_registers_each_hook_once_and_starts_the_thread(steps):
    first, second = steps["first publish"], steps["second publish"]
    assert sorted(first["hooks"]) == ["atexit", "finalizer", "fork after_in_child",
                                      "fork before"]
    assert first["atexit_callbacks"] == steps["imported and set up"]["atexit_callbacks"] + 1
    assert first["threads"] == ["MainThread", "diffs-publisher"]
    assert first["stats"]["queue_length"] == 1  # waiting: the interval is ten minutes
    assert second["hooks"] == []
    assert second["stats"]["queue_length"] == 2
    assert steps["receiver at the end"] is True


def test_the_parent_flushes_before_a_fork_and_the_child_starts_with_no_runtime(steps):
    parent = steps["parent after the fork"]
    assert parent["stats"]["queue_length"] == 0
    assert parent["stats"]["diffs_published"] == 2
    child = steps["child after the fork"]
    assert child["threads"] == ["MainThread"]
    assert child["stats"] == dict.fromkeys(child["stats"], 0)
    own = steps["child's first publish"]
    # Its fork and exit hooks are the parent's, inherited; a finalizer is per process.
    assert own["hooks"] == ["finalizer"]
    assert own["threads"] == ["MainThread", "diffs-publisher"]
    assert own["stats"]["queue_length"] == 1


def test_a_replaced_runtime_counts_on_its_own_and_is_closed_after_the_block():
    memory = Celery("replaced", broker="memory://", set_as_current=False)
    before = diffs.stats()
    memory.set_current()
    try:
        with runtime.replaced() as fresh:
            sink.deliver([payloads.diff(), payloads.diff()])
            assert diffs.flush(timeout=10)
            assert diffs.stats()["diffs_published"] == 2
            assert runtime.current() is fresh
    finally:
        celery_app.set_current()
    assert runtime.current() is not fresh
    assert fresh.publisher.submit([payloads.diff()], None, memory, "diffs") is False  # closed
    after = diffs.stats()
    assert after["diffs_published"] == before["diffs_published"]
