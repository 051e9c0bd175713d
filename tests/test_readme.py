"""Every Python block of README.md runs, in order, unless marked ``readme-test: skip``.

The blocks run with Celery's eager mode, so the write task runs in-process against the
session's Redis; the same paths with a real worker are covered by the other tests.
"""

import re
from pathlib import Path

import pytest

from tests.testapp import models

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- readme-test: skip -->\s*)?```python\n(.*?)```", re.DOTALL)


def readme_blocks():
    text = README.read_text()
    return [code for skip, code in BLOCK.findall(text) if not skip]


def test_readme_has_runnable_examples():
    assert len(readme_blocks()) >= 4


@pytest.mark.django_db(transaction=True)
def test_readme_examples_run(storage, eager):
    namespace = {
        "Question": models.Question,
        "Choice": models.Choice,
        "CustomQuestion": models.CustomQuestion,
        "Account": models.Account,
        "HistoryPoll": models.HistoryPoll,
        "HistoryChoice": models.HistoryChoice,
        "Category": models.Category,
    }
    for code in readme_blocks():
        exec(compile(code, str(README), "exec"), namespace)
