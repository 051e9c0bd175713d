"""A web process for fault tests: N creates, timing each, then drain the spool like beat does.

Prints one JSON line: {"failed": ..., "slowest": ..., "saved": ...}.
"""

import json
import sys
import time

import django


def main() -> None:
    count, pause, tag = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    django.setup()
    from diffs.models import PendingDiff
    from diffs.publishing import resend
    from tests.testapp.models import Question

    failed, slowest = 0, 0.0
    for i in range(count):
        started = time.perf_counter()
        try:
            Question.objects.create(question_text=f"{tag}-{i}")
        except Exception as exc:  # the point of the test: this must never happen
            failed += 1
            print(f"save failed: {exc!r}", file=sys.stderr)
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(pause)
    deadline = time.monotonic() + 60
    while PendingDiff.objects.filter(sent_at__isnull=True).exists():
        try:
            resend(10_000)  # what the diffs.resend beat task does
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    print(json.dumps({"failed": failed, "slowest": slowest, "saved": count}))


if __name__ == "__main__":
    main()
