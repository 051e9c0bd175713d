"""The docs site's machinery, in milliseconds: the API reference covers the public names, the
offline check finds what a page would fetch, and the harness reads blocks as it should."""

from __future__ import annotations

import importlib.util
import re

import pytest

import diffs
import diffs.testing
from tests.docs_blocks import DOCS, ROOT, blocks, classes


def _offline_hook():
    spec = importlib.util.spec_from_file_location("offline", DOCS / "hooks" / "offline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_api_reference_documents_every_public_name_once():
    documented = re.findall(r"^::: (\S+)$", (DOCS / "reference.md").read_text(), re.M)
    public = [f"diffs.{name}" for name in diffs.__all__]
    public += [f"diffs.testing.{name}" for name in diffs.testing.__all__]
    assert sorted(documented) == sorted(public)


def test_every_page_is_in_the_nav_and_the_changelog_page_includes_the_changelog():
    config = (ROOT / "mkdocs.yml").read_text()
    in_nav = set(re.findall(r"^  - [^:]+: (\S+\.md)$", config, re.M))
    on_disk = {str(page.relative_to(DOCS)) for page in DOCS.glob("*.md")}
    assert in_nav == on_disk
    assert '--8<-- "CHANGELOG.md"' in (DOCS / "changelog.md").read_text()


def test_the_offline_check_finds_what_a_page_would_fetch_and_allows_links(tmp_path):
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text(
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
        '<link rel="canonical" href="https://example.org/page/">'
        '<link rel="stylesheet" href="../assets/main.css">'
        '<a href="https://keepachangelog.com/">a link</a>'
        '<script src="//cdn.example.org/x.js"></script>'
        '<div style="background: url(\'https://img.example.org/a.png\')"></div>'
        "<style>@font-face { src: url(https://fonts.gstatic.com/r.woff2) }</style>"
    )
    (tmp_path / "main.css").write_text("body { background: url(data:image/png;base64,AA) }")
    assert _offline_hook().external_fetches(tmp_path) == {
        "page/index.html": [
            "https://fonts.googleapis.com/css?family=Roboto",
            "//cdn.example.org/x.js",
            "https://img.example.org/a.png",
            "https://fonts.gstatic.com/r.woff2",
        ]
    }


def test_blocks_are_read_dedented_with_their_line_and_kind(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n"
        "1. A step:\n\n"
        "    ```python\n"
        "    # polls/models.py\n"
        "    class Question:\n"
        "        pass\n"
        "    ```\n\n"
        "```python\n"
        "# not run: needs a RabbitMQ broker\n"
        "connect()\n"
        "```\n\n"
        "```bash\nmake docs\n```\n\n"
        "```python\n"
        "x = 1 / 0\n"
        "```\n"
    )
    models, not_run, shell = blocks(page)
    assert (models.line, models.file, models.not_run) == (6, "polls/models.py", None)
    assert models.code == "# polls/models.py\nclass Question:\n    pass\n"
    assert (not_run.file, not_run.not_run) == (None, "needs a RabbitMQ broker")
    assert (shell.file, shell.not_run, shell.line) == (None, None, 21)
    with pytest.raises(ZeroDivisionError) as raised:
        exec(shell.compiled(), {})
    assert raised.traceback[-1].lineno + 1 == 21  # pytest counts lines from 0


def test_a_not_run_line_without_a_reason_is_told_apart(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\n# not run:\nx = 1\n```\n")
    assert blocks(page)[0].not_run == ""


def test_classes_compare_definitions_not_formatting():
    one = "@register\nclass A(Model):\n    name = CharField(max_length=5)\n"
    same = "@register\nclass A(Model):\n\n    name = CharField(\n        max_length=5,\n    )\n"
    other = "@register\nclass A(Model):\n    name = CharField(max_length=6)\n"
    assert classes(one) == classes(same) != classes(other)
