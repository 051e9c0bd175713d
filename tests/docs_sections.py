"""Read the code blocks of one section of a docs page, for the tests that run them as files."""

from __future__ import annotations

import re
from pathlib import Path

BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.S)


def section(title: str, document: Path) -> str:
    """Return the text of the ``## title`` section, up to the next section of that level."""
    text = document.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def blocks(title: str, language: str, document: Path) -> list[str]:
    """Return the code blocks of a section in ``language``, dedented, in order."""
    found = []
    for lang, code in BLOCK.findall(section(title, document)):
        if lang == language:
            lines = code.splitlines()
            indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
            found.append("\n".join(line[indent:] for line in lines) + "\n")
    return found


def first_comment(code: str) -> str:
    """Return the first line of a block without its ``# `` (the file it shows)."""
    return code.splitlines()[0].removeprefix("# ").strip()
