"""Settings of the real servers (runserver, uvicorn) that e2e/test_middleware_servers.py starts.

The test suite's settings with ``DiffsContextMiddleware``, the context views' URLs, and the
session's database (``DIFFS_TEST_DATABASE``, JSON), storage Redis and Celery broker, so the
session's real worker writes the diffs these servers record.
"""

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import MIDDLEWARE

DATABASES = {"default": json.loads(os.environ["DIFFS_TEST_DATABASE"])}
MIDDLEWARE = [*MIDDLEWARE, "diffs.middleware.DiffsContextMiddleware"]
ROOT_URLCONF = "tests.context_urls"
DIFFS_SETTINGS = {"redis": {"url": os.environ["DIFFS_TEST_REDIS_URL"]}}
CELERY_BROKER_URL = os.environ["DIFFS_TEST_BROKER_URL"]
ALLOWED_HOSTS = ["127.0.0.1"]
