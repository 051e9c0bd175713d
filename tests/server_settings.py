"""Settings of the feed's real servers (runserver, uvicorn) that e2e/test_feed_servers.py starts.

The test suite's settings, with the session's Redis from ``DIFFS_TEST_REDIS_URL``, and a feed
open to every request: access rules are tested through Django's test client; here it is the
HTTP servers and the wait for a real worker's write that are under test. These servers touch
no database, but for the REST framework's test, which gives them the session's
(``DIFFS_TEST_DATABASE``, JSON).
"""

import json
import os

from tests.settings import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ.get("DIFFS_TEST_DATABASE", "null")) or {
    "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DIFFS_SETTINGS = {
    "redis": {"url": os.environ["DIFFS_TEST_REDIS_URL"]},
    "feed_permission": "tests.server_settings.anyone",
}
ALLOWED_HOSTS = ["127.0.0.1"]


def anyone(request, model, pk):
    return True
