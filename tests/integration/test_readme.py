"""The README's shell example runs, as a user pastes it into ``python manage.py shell``.

Its diffs are stored in this process by the worker's code (the integration tier's
``delivery``), in the session's Redis. The README's project files are the quick start's of
``docs/getting-started.md`` (``tests/unit/test_readme.py`` checks it), which
``tests/e2e/test_fresh_project.py`` follows in a new project with a real worker.
"""

import pytest

from tests.docs_blocks import README, blocks

SHELL = [block for block in blocks(README) if block.not_run is None and block.file is None]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("block", SHELL, ids=[block.where for block in SHELL])
def test_readme_example(block, delivery):
    exec(block.compiled(), {"__name__": "__main__"})
