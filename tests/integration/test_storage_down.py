"""A storage Redis that does not answer, on every read path (issue 22, item 3).

A real redis-server (with a password) holds a diff, then is stopped: reads raise the library's
own ``diffs.StorageUnavailable`` naming the storage without its password, the admin's Changes
page is a 503 in the admin's look, the feed a JSON 503 and ``show_diffs`` a ``CommandError``.
"""

from __future__ import annotations

import asyncio
import io

import pytest
import redis
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

import diffs
from diffs.storage.writer import write_batch
from tests.integration.test_feed import VIEW_QUESTION
from tests.payloads import batch, diff
from tests.testapp.models import Question

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-pw"


@pytest.fixture
def stopped(servers, settings):
    """Return a question whose diff a storage Redis held before that server was stopped."""
    server = servers("storage", persistent=False, requirepass=PASSWORD)
    settings.DIFFS_SETTINGS = {
        **settings.DIFFS_SETTINGS,
        "redis": {"url": f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0", "socket_timeout": 2},
    }
    question = Question.objects.create(question_text="kept")
    write_batch(batch(diff(question.pk, new={"question_text": "kept"}, created=True)))
    assert len(question.diffs) == 1  # the server answered
    server.stop()
    return question, f"127.0.0.1:{server.port}"


def _says_which_storage(error: Exception, where: str) -> None:
    assert isinstance(error, diffs.StorageUnavailable)
    assert isinstance(error, diffs.DiffsError) and isinstance(error, ConnectionError)
    assert isinstance(error.__cause__, redis.RedisError)
    assert where in str(error) and where in error.storage
    assert PASSWORD not in str(error) and PASSWORD not in error.storage
    assert "DIFFS_SETTINGS['redis']" in str(error)


#: Every sync way of reading an object's diffs.
READS = {
    "list": list, "len": len, "index": lambda d: d[-1], "slice": lambda d: d[0:2],
    "newest": lambda d: d.newest(1), "delta": lambda d: d.delta(0), "page": lambda d: d.page(),
    "since": lambda d: list(d.since(0)),
}


def test_reads_raise_storage_unavailable_naming_the_storage(stopped):
    question, where = stopped
    for name, read in READS.items():
        try:
            read(question.diffs)
        except diffs.StorageUnavailable as error:
            _says_which_storage(error, where)
        else:
            pytest.fail(f"{name} did not raise StorageUnavailable")


def test_async_reads_raise_storage_unavailable_too(stopped):
    question, where = stopped
    with pytest.raises(diffs.StorageUnavailable) as caught:
        asyncio.run(question.diffs.alist())
    _says_which_storage(caught.value, where)


def test_the_admin_changes_page_is_a_503_in_the_admins_look(stopped, client, django_user_model):
    question, where = stopped
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(**VIEW_QUESTION))
    client.force_login(user)
    response = client.get(f"/admin/testapp/question/{question.pk}/changes/")
    assert response.status_code == 503
    assert "admin/base_site.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "did not answer" in page and where in page and PASSWORD not in page


def test_the_feed_answers_a_503(stopped, client, django_user_model):
    question, _ = stopped
    user = django_user_model.objects.create_user("reader", password="pw")
    user.user_permissions.add(Permission.objects.get(**VIEW_QUESTION))
    client.force_login(user)
    response = client.get(f"/diffs/testapp.question/{question.pk}/")
    assert response.status_code == 503
    assert response.json() == {"error": "the diffs storage is not answering; try again later"}


def test_show_diffs_is_a_command_error(stopped):
    question, where = stopped
    with pytest.raises(CommandError, match="did not answer") as caught:
        call_command("show_diffs", "testapp.question", str(question.pk), stdout=io.StringIO())
    assert where in str(caught.value) and PASSWORD not in str(caught.value)
