"""Event streams of a real uvicorn through storage outages: no diff is lost.

The server follows a redis-server of the test's own, which the test stops and starts again, or
whose subscription connections it kills. Diffs are written here with the worker's own code.
"""

from __future__ import annotations

import pytest

from diffs.storage.writer import write_batch
from tests.conftest import wait_until
from tests.e2e.http_servers import event_stream, running
from tests.payloads import batch, diff
from tests.sse import Reader, read_sync

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PATH = "/testapp.question/1/"


@pytest.fixture
def storage_server(servers, settings):
    """A restartable redis-server that this process writes diffs to; return it and its URL."""
    server = servers("stream-storage", persistent=True)
    url = f"redis://127.0.0.1:{server.port}/0"
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "redis": {"url": url}}
    return server, url


def _write(text):
    written = diff(1, new={"question_text": text})
    write_batch(batch(written))
    return written


def _texts(reader):
    return [event.diff["new"]["question_text"] for event in reader.diffs]


def test_a_stream_ends_with_retry_when_redis_stops_and_resumes_after_it_without_a_miss(
    storage_server, redis_server
):
    server, url = storage_server
    _write("before")
    with running("uvicorn", redis_server, DIFFS_TEST_REDIS_URL=url) as base, \
            event_stream(base + PATH) as chunks:
        reader = read_sync(chunks, Reader(), lambda reader: len(reader.diffs) == 1)
        server.stop()
        read_sync(chunks, reader, lambda reader: False)  # it ends: the storage is gone
        assert reader.events[-1].retry is not None
        server.start()
        _write("after the restart")
        with event_stream(base + PATH, last_event_id=reader.diffs[-1].id) as again:
            resumed = read_sync(again, Reader(), lambda reader: len(reader.diffs) == 1)
    assert _texts(reader) == ["before"]
    assert _texts(resumed) == ["after the restart"]


def test_a_stream_whose_subscription_is_killed_goes_on_and_misses_nothing(
    storage_server, redis_server
):
    server, url = storage_server
    import redis

    admin = redis.Redis(host="127.0.0.1", port=server.port)
    _write("first")
    with running("uvicorn", redis_server, DIFFS_TEST_REDIS_URL=url) as base, \
            event_stream(base + PATH) as chunks:
        reader = read_sync(chunks, Reader(), lambda reader: len(reader.diffs) == 1)
        for n in range(3):  # written at once after each kill: before the server subscribed again
            wait_until(lambda: admin.client_list(_type="pubsub"))  # subscribed (again)
            assert admin.client_kill_filter(_type="pubsub") == 1
            _write(f"after kill {n}")
            read_sync(chunks, reader, lambda reader, n=n: len(reader.diffs) == n + 2)
    admin.close()
    assert _texts(reader) == ["first", "after kill 0", "after kill 1", "after kill 2"]
