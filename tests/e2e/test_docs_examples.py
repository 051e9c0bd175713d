"""Every Python block of the docs runs as a user would run it (see ``tests/docs_blocks.py``).

The blocks of a page run in order, in one namespace, against the quick start's ``polls`` app,
with a real Celery worker writing the diffs. The background publisher is told to wait an hour
before it sends anything: a block that reads diffs without waiting for them
(``diffs.testing.wait_for``) then finds none, every time, instead of only on a busy machine.
Each page runs twice against the same database and Redis, as a user who tries an example
again would: an example that counts on a fixed pk or on an empty Redis fails the second time.
"""

from __future__ import annotations

import pytest

from tests.docs_blocks import POLLS, POLLS_FILES, Block, blocks, classes, pages

ALL = [block for page in pages() for block in blocks(page)]
RUN_PAGES = sorted({block.page for block in ALL if block.not_run is None and block.file is None})
NOT_RUN = [block for block in ALL if block.not_run is not None]


def _page_id(page) -> str:
    return str(page.relative_to(page.parents[1]))


@pytest.mark.django_db(transaction=True, databases=["default", "other"])  # Storage's example
@pytest.mark.parametrize("page", RUN_PAGES, ids=[_page_id(page) for page in RUN_PAGES])
def test_page_examples_run(page, worker, settings):
    settings.DIFFS_SETTINGS = {
        **settings.DIFFS_SETTINGS,
        "publish": "background",
        "publish_interval": 3600,
        "publish_batch_size": 10_000,
    }
    for _ in range(2):
        namespace: dict[str, object] = {"__name__": "__main__"}
        for block in blocks(page):
            if block.not_run is None and block.file is None:
                exec(block.compiled(), namespace)


@pytest.mark.parametrize("block", NOT_RUN, ids=[block.where for block in NOT_RUN])
def test_blocks_not_run_say_why(block: Block):
    assert block.not_run, f"{block.where}: '# not run:' needs a reason after the colon"
    pytest.skip(f"{block.where}: {block.not_run}")


def test_every_file_block_is_run_by_a_test():
    unrun = [f"{block.where} ({block.file})" for block in ALL
             if block.file and block.not_run is None and not block.run_elsewhere]
    assert not unrun, ("no test runs these files: have one run them, or start them with "
                       f"'# not run: <why>': {unrun}")


@pytest.mark.parametrize("path", sorted(POLLS_FILES))
def test_the_tests_polls_app_defines_the_classes_of_the_docs(path):
    documented: dict[str, str] = {}
    for block in ALL:
        if block.file == path:
            for name, tree in classes(block.code).items():
                assert documented.setdefault(name, tree) == tree, (
                    f"{block.where} defines {name} differently from an earlier block")
    module = POLLS / path.removeprefix("polls/")
    assert classes(module.read_text()) == documented, (
        f"{module} must define the classes of the docs' {path} blocks, as written")
