"""Every Python block of README.md is a test of its own, unless marked ``readme-test: skip``.

Each block runs in a fresh namespace and a fresh database, with Celery's eager mode, so the
write task runs in-process against the session's Redis; the same paths with a real worker are
covered by the other tests.
"""

import re
from pathlib import Path

import pytest

from tests.bulkapp import models as bulk_models
from tests.testapp import models

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(
    r"^(#+ [^\n]*)$|(<!-- readme-test: skip -->\s*)?```python\n(.*?)```", re.S | re.M
)


def readme_blocks() -> list[tuple[str, str]]:
    """Return ``(test id, code)`` of each runnable block: its section and its place there."""
    blocks, section, number = [], "top", 0
    for heading, skip, code in BLOCK.findall(README.read_text()):
        if heading:
            section, number = heading.lstrip("# ").strip(), 0
        elif not skip:
            number += 1
            blocks.append((f"{section} #{number}", code))
    return blocks


BLOCKS = readme_blocks()


def test_readme_has_runnable_examples():
    assert len(BLOCKS) >= 10


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("code", [code for _, code in BLOCKS], ids=[name for name, _ in BLOCKS])
def test_readme_example(code, storage, eager):
    namespace = {
        name: getattr(models, name)
        for name in ("Question", "Choice", "CustomQuestion", "Account", "HistoryPoll",
                     "HistoryChoice", "Category", "Counter", "QuestionProxy")
    }
    namespace.update({name: getattr(bulk_models, name) for name in ("Shelf", "Author", "Book")})
    exec(compile(code, str(README), "exec"), namespace)
