"""The release's metadata, in milliseconds: one version, classifiers that name the matrix, a
changelog in the Keep a Changelog shape. ``make dist-check`` builds and installs the wheel."""

from __future__ import annotations

import ast
import configparser
import re
from importlib.metadata import metadata

import diffs
from tests.docs_blocks import ROOT


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _matrix() -> list[tuple[str, str]]:
    """Return noxfile.py's ``(python, django)`` pairs (read, not imported: it changes PATH)."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    (pairs,) = [node.value for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(target, "id", None) == "PAIRS" for target in node.targets)]
    return ast.literal_eval(pairs)


def test_the_version_is_setup_cfgs_read_through_the_installed_metadata():
    assert diffs.__version__ == _setup_cfg()["metadata"]["version"]
    assert diffs.__version__ == metadata("django-diffs")["Version"]


def test_the_classifiers_name_exactly_the_pythons_and_djangos_the_matrix_tests():
    classifiers = _setup_cfg()["metadata"]["classifiers"].split("\n")
    pythons = {c.rsplit(" ", 1)[1] for c in classifiers
               if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    djangos = {c.rsplit(" ", 1)[1] for c in classifiers
               if re.fullmatch(r"Framework :: Django :: \d+\.\d+", c)}
    pairs = _matrix()
    assert pythons == {python for python, _ in pairs}
    assert djangos == {django for _, django in pairs}
    lowest = min(pythons, key=lambda version: tuple(map(int, version.split("."))))
    assert _setup_cfg()["options"]["python_requires"] == f">={lowest}"


def test_the_changelog_keeps_a_changelog_shape():
    text = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## (.+)$", text, re.M)
    assert releases[0] == "Unreleased"
    for release in releases[1:]:
        assert re.fullmatch(r"\[?\d+\.\d+\.\d+\]? - \d{4}-\d{2}-\d{2}", release), release
    kinds = set(re.findall(r"^### (.+)$", text, re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
