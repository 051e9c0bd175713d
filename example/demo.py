"""Run the example project end to end: record, a real Celery worker writes Redis, read, prune.

Uses the Redis at ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) when it answers, under
its own key prefix and queue so it never touches other data there; otherwise starts a
``redis-server`` on a free port for the run. Everything it starts, it stops.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def start_redis(workdir: str) -> tuple[str, subprocess.Popen]:
    executable = shutil.which("redis-server")
    if executable is None:
        sys.exit("redis-server is not installed: run `make demo`, which installs it.")
    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C stops the workers first; then this script stops it
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_answers(url):
        if time.monotonic() > deadline:
            process.kill()
            sys.exit(f"redis-server did not start on port {port}")
        time.sleep(0.05)
    return url, process


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "exampleproject", "worker",
         "-Q", env["DIFFS_QUEUE"], "-P", "solo", "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle"],
        cwd=HERE,
        env=env,
    )


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.05)


def print_table(title: str, diffs) -> None:
    """Print diffs as ``manage.py show_diffs`` does (the same formatting code)."""
    from diffs.reading.render import table

    print(f"\n{title}")
    for line in table(diffs):
        print(f"  {line}")


def run(env: dict[str, str]) -> None:
    import django

    os.environ.update(env)
    django.setup()
    from django.core.management import call_command

    from polls.models import Choice, Question

    call_command("migrate", verbosity=0)
    worker = start_worker(env)
    try:
        question = Question.objects.create(question_text="What is life?")
        question.question_text = "What is python?"
        question.save()
        choice = Choice.objects.create(question=question, choice_text="Nothing")
        choice.choice_text = "Something"
        choice.votes = 3
        choice.save()

        wait_for(lambda: len(question.diffs) == 4, "the worker to write 4 diffs")
        print(f"The worker wrote {len(question.diffs)} diffs to Redis.")
        print_table(f"question.diffs (the question and its choice, rolled up), len = "
                    f"{len(question.diffs)}:", question.diffs)
        print_table("Choice.diffs.get_by_object_id(choice.id):",
                    Choice.diffs.get_by_object_id(choice.id))
        newest = question.diffs[-1]
        print(f"\nquestion.diffs[-1].data = {newest.data}")
        print(f"question.diffs.since(<time of the first diff>) holds "
              f"{len(question.diffs.since(question.diffs[0].timestamp))} diffs")

        print("\nPruning diffs older than 1 hour (none are):")
        call_command("prune_diffs")
        print("Pruning with --max-age 0 (all are older than 0 seconds):")
        call_command("prune_diffs", "--max-age", "0")
        print(f"question.diffs now holds {len(question.diffs)} diffs.")
        assert len(question.diffs) == 0
        print("\nDemo finished: recorded, written by a real Celery worker, read, pruned.")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        forget_queue(env)


def forget_queue(env: dict[str, str]) -> None:
    """Delete the demo's own queue and binding keys, so a shared Redis keeps no litter."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    client.delete(env["DIFFS_QUEUE"], f"_kombu.binding.{env['DIFFS_QUEUE']}")


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="diffs-demo-")
    redis_process = None
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        print(f"Using the Redis at {url} (own key prefix and queue).")
    else:
        url, redis_process = start_redis(workdir)
        print(f"No Redis answered; started redis-server at {url} for this run.")
    run_id = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exampleproject.settings",
        "REDIS_URL": url,
        "EXAMPLE_DB": str(Path(workdir) / "db.sqlite3"),
        "DIFFS_KEY_PREFIX": f"diffs-demo-{run_id}",
        "DIFFS_QUEUE": f"diffs-demo-{run_id}",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)]),
    }
    try:
        run(env)
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
