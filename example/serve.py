"""``make serve``: the example project live: runserver, a Celery worker and beat, until Ctrl-C.

The admin (each question and choice with its "Changes" page), the changes feed and a page
following changes live (``follow/polls.question/``) are served at http://127.0.0.1:8000
(``SERVE_PORT``). A demo superuser ``admin`` / ``admin`` is created, and one question to edit.
Uses the Redis at ``REDIS_URL`` when it answers, else starts one; the database is
``example/db.sqlite3``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from demo import HERE, free_port, redis_answers, start_redis, wait_for

SETUP = """
from django.contrib.auth import get_user_model
from polls.models import Question
User = get_user_model()
if not User.objects.filter(username="admin").exists():
    User.objects.create_superuser("admin", "admin@example.com", "admin")
if not Question.objects.exists():
    Question.objects.create(question_text="What is life?")
print(Question.objects.order_by("pk").first().pk)
"""


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def stop(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops everything as Ctrl-C does


def main() -> None:
    signal.signal(signal.SIGTERM, stop)
    workdir = tempfile.mkdtemp(prefix="diffs-serve-")
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    redis_process = None
    if not redis_answers(url):
        url, redis_process = start_redis(workdir)
        print(f"No Redis answered; started redis-server at {url}.")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exampleproject.settings",
        "REDIS_URL": url,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)]),
    }
    manage = [sys.executable, str(HERE / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], cwd=HERE, env=env, check=True)
    first = subprocess.run([*manage, "shell", "-c", SETUP], cwd=HERE, env=env, check=True,
                           capture_output=True, text=True).stdout.split()[-1]
    port = int(os.environ.get("SERVE_PORT", "8000"))
    if not port_is_free(port):
        port = free_port()
    celery = [sys.executable, "-m", "celery", "-A", "exampleproject"]
    queue = os.environ.get("DIFFS_QUEUE", "diffs-example")  # as the settings name it
    processes = [
        subprocess.Popen([*celery, "worker", "-Q", f"{queue},celery", "-P", "solo",
                          "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
                         cwd=HERE, env=env),
        subprocess.Popen([*celery, "beat", "--loglevel", "WARNING",
                          "--schedule", str(Path(workdir) / "beat-schedule")], cwd=HERE, env=env),
    ]
    server = subprocess.Popen([*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
                              cwd=HERE, env=env)
    processes.append(server)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: not port_is_free(port), "runserver to answer")  # then say where, last
    print(
        f"\nLog in at {base}/admin/ as admin / admin (a demo superuser).\n"
        f"Edit a question, then open its Changes page:\n"
        f"  {base}/admin/polls/question/{first}/changes/\n"
        f"The changes feed, as JSON: {base}/diffs/polls.question/{first}/?wait=30\n"
        f"Follow the changes of every question live (EventSource): {base}/follow/polls.question/\n"
        "Ctrl-C stops the server, the worker and beat.\n",
        flush=True,
    )
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)


if __name__ == "__main__":
    main()
