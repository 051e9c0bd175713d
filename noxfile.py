"""The Django x Python matrix: ``make test-matrix`` (every pair, full suite), ``make test-smoke``.

Each supported pair that Django itself supports gets a session: Django 4.2 on Python 3.10 to
3.12, 5.2 on 3.10 to 3.14, 6.0 and 6.1 on 3.12 to 3.14. django-celery-beat (a test dependency)
requires Django < 6.1, so the 6.1 sessions run without it and its tests skip there
(tests/optional.py). The newest pair ``make test`` can run in ``.venv``, Python 3.13 + Django
6.0, is left to it; ``smoke`` runs the fast subset (the unit tier and the ``smoke``-marked
tests) on every other pair (``make test-smoke-all``). CI runs it on the pairs tagged ``ci``
(``make test-smoke``): the oldest Python with the oldest Django, and one pair of each other
Django major with a Python the newest pair does not cover, so every Django major is run.

Virtualenvs are made and filled by uv (a test dependency, from PyPI), ten times faster than
venv and pip; interpreters come from pyenv (``$PYENV_ROOT/versions/*/bin``) or ``PATH``;
pyenv cannot build 3.14 here, ``make python3.14`` installs Debian's (tools/debian-python.sh).
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import nox

DJANGO = {"4.2": "Django>=4.2,<5.0", "5.2": "Django>=5.2,<6.0", "6.0": "Django>=6.0,<6.1",
          "6.1": "Django>=6.1,<6.2"}
PAIRS = [
    ("3.10", "4.2"), ("3.11", "4.2"), ("3.12", "4.2"),
    ("3.10", "5.2"), ("3.11", "5.2"), ("3.12", "5.2"), ("3.13", "5.2"), ("3.14", "5.2"),
    ("3.12", "6.0"), ("3.13", "6.0"), ("3.14", "6.0"),
    ("3.12", "6.1"), ("3.13", "6.1"), ("3.14", "6.1"),
]
#: Test dependencies that do not allow a Django yet: its sessions install the others, and the
#: tests that need one skip (tests/optional.py).
BLOCKED = {"6.1": {"django-celery-beat"}}
NEWEST = ("3.13", "6.0")
#: The smoke pairs CI runs: the oldest pair, and Django 5.2 and 6.1 on Pythons the newest pair
#: (3.13, 6.0) does not cover.
CI = [("3.10", "4.2"), ("3.11", "5.2"), ("3.12", "6.1")]

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.default_venv_backend = "uv"


def _put_pyenv_on_path() -> None:
    """Put each pyenv version's own bin first: its shims refuse versions not selected."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(str(path) for path in root.glob("3.*/bin") if path.is_dir())
    os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_put_pyenv_on_path()


def _test_requirements() -> list[str]:
    """Return the ``test`` extra of setup.cfg, one requirement an item."""
    config = configparser.ConfigParser()
    config.read(Path(__file__).with_name("setup.cfg"))
    return config["options.extras_require"]["test"].split()


def _install(session: nox.Session, django: str) -> None:
    blocked = BLOCKED.get(django, set())
    if not blocked:
        session.install("--quiet", "-e", ".[test]", DJANGO[django])
        return
    wanted = [req for req in _test_requirements()
              if re.split(r"[\[<>=!~ ]", req, maxsplit=1)[0].lower() not in blocked]
    session.install("--quiet", "-e", ".", *wanted, DJANGO[django])


def _ids(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"py{python}-django{django}" for python, django in pairs]


@nox.session
@nox.parametrize(("python", "django"), PAIRS, ids=_ids(PAIRS))
def tests(session: nox.Session, django: str) -> None:
    """The whole suite on one pair (``DIFFS_TEST_DB=postgres`` passes through)."""
    _install(session, django)
    session.run("python", "-m", "pytest", "-q", *session.posargs)


OTHERS = [
    nox.param(python, django, id=_ids([(python, django)])[0],
              tags=["ci"] if (python, django) in CI else [])
    for python, django in PAIRS if (python, django) != NEWEST
]


@nox.session
@nox.parametrize(("python", "django"), OTHERS)
def smoke(session: nox.Session, django: str) -> None:
    """The fast subset on one of the older pairs: the unit tier and the ``smoke`` tests."""
    _install(session, django)
    session.run("python", "-m", "pytest", "-q", "tests/unit", *session.posargs)
    session.run("python", "-m", "pytest", "-q", "-m", "smoke", "tests/integration", "tests/e2e",
                *session.posargs)
