"""Fixtures of the e2e tier: the feed's real HTTP servers (:mod:`tests.e2e.http_servers`)."""

from tests.e2e.http_servers import server  # noqa: F401  (a fixture)
