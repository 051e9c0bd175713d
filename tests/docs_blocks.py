"""The Python blocks of the docs pages, and what the docs harness does with each.

A block is one of:

* **not run**: its first line is ``# not run: <why>``, shown to the reader as it is;
* **a file of the project**: its first line names it (``# polls/models.py``). The harness
  compares ``polls/models.py`` blocks with the tests' ``polls`` app; the quick start's project
  files are written into a new project by ``tests/e2e/test_fresh_project.py``; any other file
  is an error until a test runs it or it says why not;
* **a shell session** (anything else): executed in the order of the page, in one namespace per
  page, as a user pastes them into ``python manage.py shell``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
#: The tests' ``polls`` app, whose modules must define exactly the classes of the docs' blocks
#: of the same files (``polls/models.py``, ``polls/admin.py``).
POLLS = Path(__file__).resolve().parent / "docs_project" / "polls"
POLLS_FILES = frozenset({"polls/models.py", "polls/admin.py"})
#: The page whose quick start ``tests/e2e/test_fresh_project.py`` follows in a new project,
#: and the files of it that the test writes there (besides ``polls/models.py``).
QUICK_START = DOCS / "getting-started.md"
FRESH_PROJECT_FILES = frozenset({"proj/settings.py", "proj/celery.py", "proj/__init__.py"})
#: The page whose test files ``tests/e2e/test_testing_page.py`` runs, as a project's tests.
TESTING = DOCS / "testing.md"
TESTING_FILES = frozenset({"polls/tests.py", "polls/test_questions.py"})

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```",
                   re.S | re.M)
NOT_RUN = re.compile(r"#\s*not run:\s*(?P<why>.*\S)?")
FILE = re.compile(r"#\s*(?P<path>[\w./-]+\.py)\b")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page: its language, code, and where it starts."""

    page: Path
    line: int  #: the page's line number of the block's first line of code
    language: str
    code: str

    @property
    def where(self) -> str:
        """Return ``docs/page.md:line``, as a reader finds it."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def first_line(self) -> str:
        return self.code.lstrip("\n").split("\n", 1)[0].strip()

    @property
    def not_run(self) -> str | None:
        """Return why the block is not run ('' when it does not say), or None when it is."""
        found = NOT_RUN.fullmatch(self.first_line)
        return None if found is None else (found["why"] or "")

    @property
    def file(self) -> str | None:
        """Return the path of the project file the block shows, or None for a shell session."""
        found = FILE.match(self.first_line)
        return None if found is None else found["path"]

    @property
    def run_elsewhere(self) -> bool:
        """Return whether another test runs this file block (the quick start's project, the
        testing page's test files)."""
        return (self.file in POLLS_FILES
                or (self.page == QUICK_START and self.file in FRESH_PROJECT_FILES)
                or (self.page == TESTING and self.file in TESTING_FILES))

    def compiled(self) -> CodeType:
        """Compile the block so that a traceback names the page and its line numbers."""
        return compile("\n" * (self.line - 1) + self.code, str(self.page), "exec")


def blocks(page: Path, language: str = "python") -> list[Block]:
    """Return the fenced blocks of ``page`` in ``language``, dedented, in page order."""
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        if match["lang"] == language:
            line = text.count("\n", 0, match.start("body")) + 1
            found.append(Block(page, line, language, textwrap.dedent(match["body"])))
    return found


def pages() -> list[Path]:
    """Return every page of the docs, in file order."""
    return sorted(DOCS.rglob("*.md"))


def classes(source: str) -> dict[str, str]:
    """Return each top-level class of ``source`` as a canonical dump of its syntax tree."""
    tree = ast.parse(source)
    return {node.name: ast.dump(node) for node in tree.body if isinstance(node, ast.ClassDef)}
