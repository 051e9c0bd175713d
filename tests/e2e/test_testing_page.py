"""The test files of the docs' "Testing your project" page, run as a project would run them:
the TestCase with unittest's runner, the pytest ones by a pytest of their own in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest
from pathlib import Path

import pytest
from django.test import TestCase

from tests.docs_blocks import TESTING, TESTING_FILES, blocks

ROOT = Path(__file__).resolve().parents[2]


def _example(path: str) -> str:
    assert path in TESTING_FILES
    (found,) = [block.code for block in blocks(TESTING) if block.file == path]
    return found


def test_the_testcase_example_passes(db, storage):
    namespace: dict[str, object] = {}
    exec(compile(_example("polls/tests.py"), str(TESTING), "exec"), namespace)
    cases = [value for value in namespace.values()
             if isinstance(value, type) and issubclass(value, TestCase) and value is not TestCase]
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(case)
                               for case in cases)
    result = unittest.TestResult()
    suite.run(result)  # inside pytest-django's transaction: Django nests its own in it
    assert result.errors == [] and result.failures == []
    assert result.testsRun == 2
    assert storage.keys("*") == []  # the block's keys are gone


@pytest.mark.slow
@pytest.mark.both_databases
@pytest.mark.timeout(900)  # a test database of its own to migrate: minutes on a busy machine
def test_the_pytest_example_passes(tmp_path, redis_server, storage):
    (tmp_path / "test_questions.py").write_text(_example("polls/test_questions.py"))
    (tmp_path / "kit_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n\n"
        "DATABASES = {'default': DATABASES['default']}  # noqa: F405 (one to set up, not two)\n"
        f"DIFFS_SETTINGS = {{'redis': {{'url': {redis_server['storage_url']!r}}}}}\n"
    )
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(tmp_path)])
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--ds=kit_settings",
         "--rootdir", str(tmp_path), str(tmp_path / "test_questions.py")],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=840,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert storage.keys("*") == []
