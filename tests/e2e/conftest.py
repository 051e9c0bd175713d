"""Fixtures of the e2e tier: the feed's real HTTP servers (:mod:`tests.e2e.http_servers`) and
a headless Chromium (:mod:`tests.e2e.browser`)."""

from tests.e2e.browser import browser  # noqa: F401  (a fixture)
from tests.e2e.http_servers import server  # noqa: F401  (a fixture)
