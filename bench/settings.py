"""Django settings of the benchmarks; the environment names the database and the redis-server.

``BENCH_DB`` is ``sqlite`` (in memory) or ``postgres`` (``BENCH_PG_NAME`` on 127.0.0.1:5432);
``BENCH_REDIS_URL`` is the bench's own redis-server: database 0 stores diffs, 1 is the broker
unless ``BENCH_BROKER_URL`` names another (then ``BENCH_QUEUE`` names a queue of the bench's
own). Everything else of django-diffs keeps its defaults.
"""

import os

SECRET_KEY = "bench-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",  # django-auditlog's actor
    "simple_history",
    "auditlog",
    "diffs",
    "diffs_tasks",
    "bench.benchapp",
]

if os.environ.get("BENCH_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("BENCH_PG_NAME", "test"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
        }
    }
    # django-pghistory, a peer whose triggers exist on PostgreSQL only (the bench extra)
    INSTALLED_APPS += ["pgtrigger", "pghistory", "bench.pghapp"]
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:0")
DIFFS_SETTINGS = {"redis": {"url": f"{_REDIS}/0"}}
if os.environ.get("BENCH_CLUSTER_NODES"):  # "host:port,host:port": the storage is a cluster
    DIFFS_SETTINGS = {"redis": {"cluster": {"startup_nodes": [
        {"host": host, "port": int(port)} for host, port in
        (node.rsplit(":", 1) for node in os.environ["BENCH_CLUSTER_NODES"].split(","))]}}}
if os.environ.get("BENCH_PUBLISH"):  # the publish mode, where a benchmark fixes it
    DIFFS_SETTINGS["publish"] = os.environ["BENCH_PUBLISH"]
if os.environ.get("BENCH_PUBLISH_INTERVAL"):  # an experiment: the publisher's interval
    DIFFS_SETTINGS["publish_interval"] = float(os.environ["BENCH_PUBLISH_INTERVAL"])
if os.environ.get("BENCH_QUEUE"):  # a queue of its own on a shared broker
    DIFFS_SETTINGS["queue"] = os.environ["BENCH_QUEUE"]

CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL", f"{_REDIS}/1")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING_CONFIG = None
