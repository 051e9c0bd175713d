"""A web process for fault tests: N saves, timing each, then drain the spool like beat does.

``tag`` names the run; ``shared:<question pk>`` instead makes every save an update of one of
that question's choices (several processes then change the same objects and parent), and
``item:<name>`` makes every save a create of an ``otherapp.Item``. With ``FAULT_CLIENT_RESENDS=0``
the client leaves kept diffs alone (no beat stand-in): the workers must drain them.
Prints one JSON line: {"failed": ..., "slowest": ..., "saved": ..., "per_object": {...}}.
"""

import json
import os
import sys
import time

import django


def main() -> None:
    count, pause, tag = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    django.setup()
    import diffs
    from diffs.models import PendingDiff
    from diffs.transport import runtime
    from tests.otherapp.models import Item
    from tests.testapp.models import Choice, Question

    choices = []
    if tag.startswith("shared:"):
        choices = list(Choice.objects.filter(question_id=int(tag.split(":")[1])).order_by("pk"))
    per_object: dict[int, list[str]] = {}
    failed, slowest = 0, 0.0
    for i in range(count):
        started = time.perf_counter()
        try:
            if choices:
                choice = choices[i % len(choices)]
                choice.choice_text = f"{os.getpid()}-{i}"
                choice.save()
                per_object.setdefault(choice.pk, []).append(choice.choice_text)
            elif tag.startswith("item:"):
                Item.objects.create(label=f"{tag}-{i}")
            else:
                Question.objects.create(question_text=f"{tag}-{i}")
        except Exception as exc:  # the point of the test: this must never happen
            failed += 1
            print(f"save failed: {exc!r}", file=sys.stderr)
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(pause)
    diffs.flush()  # what the process committed is with the broker, or kept, from here on
    deadline = time.monotonic() + 120
    resends = os.environ.get("FAULT_CLIENT_RESENDS", "1") == "1"
    while resends and PendingDiff.objects.exists():  # until workers confirm every kept diff
        try:
            runtime.current().sender.resend(10_000)  # what the diffs.resend beat task does
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    print(json.dumps(
        {"failed": failed, "slowest": slowest, "saved": count, "per_object": per_object}
    ))


if __name__ == "__main__":
    main()
