"""The README stays a short front page whose quick start is the docs' own, word for word."""

from tests.docs_blocks import QUICK_START, README, blocks

#: The README's length limit: what it is, a picture, install, the quick start, links.
MAX_LINES = 150


def test_the_readme_is_under_150_lines():
    lines = README.read_text().count("\n")
    assert lines < MAX_LINES, f"README.md has {lines} lines; move the detail into docs/"


def test_the_readme_quick_start_files_are_the_docs_quick_start_files():
    """So the new-project test of the docs' quick start covers the README's too."""
    docs = {block.file: block.code for block in blocks(QUICK_START) if block.file}
    shown = [block for block in blocks(README) if block.file]
    assert {block.file for block in shown} == {"proj/settings.py", "polls/models.py"}
    for block in shown:
        assert block.code == docs[block.file], f"{block.where} differs from {QUICK_START.name}"


def test_the_readme_shell_example_is_the_docs_quick_start_one():
    docs = [block.code for block in blocks(QUICK_START) if block.file is None]
    shell = [block.code for block in blocks(README) if block.file is None]
    assert len(shell) == 1 and shell[0] in docs
