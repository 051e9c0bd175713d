"""Pruning options refused before any read, and the beat schedule of the prune and resend tasks."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from diffs.exceptions import InvalidPruneOption
from diffs.storage.pruning import prune
from diffs_tasks.schedule import ENTRY_NAME, RESEND_ENTRY_NAME, beat_schedule


@pytest.mark.parametrize("options", [{"max_age": -1}, {"max_age": 1.5}, {"batch_keys": 0}])
def test_prune_rejects_unusable_options(options):
    with pytest.raises(InvalidPruneOption, match="must be"):
        prune(**options)


def test_command_rejects_a_negative_max_age():
    with pytest.raises(CommandError, match="--max-age must be 0 or more"):
        call_command("prune_diffs", "--max-age", "-5")


def test_beat_schedule_runs_the_prune_task_every_prune_interval_on_the_diffs_queue(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "prune_interval": 15, "queue": "q"}
    entry = beat_schedule()[ENTRY_NAME]
    assert entry["task"] == "diffs.prune"
    assert entry["schedule"].total_seconds() == 15
    assert entry["options"] == {"queue": "q", "expires": 15}


def test_beat_schedule_resends_kept_diffs_every_resend_interval(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "resend_interval": 7, "queue": "q"}
    entry = beat_schedule()[RESEND_ENTRY_NAME]
    assert entry["task"] == "diffs.resend"
    assert entry["schedule"].total_seconds() == 7
    assert entry["options"] == {"queue": "q", "expires": 7}
