"""Settings of ``bench/sse.py``'s uvicorn process: the feed open to every request, on the
bench's own redis-server (``BENCH_REDIS_URL``, db 0); the bench process writes with them too.
Redis connections are named ``BENCH_SSE_NAME``, so the bench counts the server's apart."""

import os

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "bench.sse_urls"
MIDDLEWARE: list[str] = []
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "diffs", "bench.sseapp"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DIFFS_SETTINGS = {
    "redis": {"url": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:0") + "/0"
              "?client_name=" + os.environ.get("BENCH_SSE_NAME", "diffs-sse-bench")},
    "feed_permission": "bench.sse_settings.anyone",
    "feed_sse_max_duration": 3600,
}


def anyone(request, model, pk):
    return True
