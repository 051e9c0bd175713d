"""``diffs.contrib.rest_framework`` over real HTTP: runserver (WSGI) and uvicorn (ASGI) serving
the test app's DRF API on the session's database, a real Celery worker writing the diffs.

The client is urllib with HTTP basic authentication (one of DRF's default authentication
classes): the viewset's own authentication, not the feed's.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.db import connection

from diffs.reading.modelfeed import ModelFeed
from tests.conftest import wait_until
from tests.e2e.http_servers import SERVERS, get, running
from tests.optional import needs_rest_framework
from tests.testapp.models import Question, Ticket

pytestmark = [needs_rest_framework, pytest.mark.django_db(transaction=True),
              pytest.mark.both_databases]


@pytest.fixture(params=sorted(SERVERS))
def api_server(request, redis_server):
    """Serve the test project on the session's own test database; yield its API's base URL."""
    database = {key: connection.settings_dict[key]
                for key in ("ENGINE", "NAME", "HOST", "PORT", "USER")}
    with running(request.param, redis_server, DIFFS_TEST_DATABASE=json.dumps(database)) as base:
        yield base.removesuffix("/diffs") + "/api"


def _as(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/json"}


def test_changes_of_an_object_and_of_a_model_over_http(api_server, worker, django_user_model):
    django_user_model.objects.create_user("ann", password="ann-pw")
    auth = _as("ann", "ann-pw")
    question = Question.objects.create(question_text="over http")
    question.question_text = "edited"
    question.save()
    url = f"{api_server}/questions/{question.pk}/changes/"
    wait_until(lambda: len(json.loads(get(url, auth)[2])["results"]) == 2, timeout=30)
    status, _, content = get(f"{url}?limit=1", auth)
    first = json.loads(content)
    assert status == 200 and first["more"] is True
    second = json.loads(get(first["next"], auth)[2])
    assert [d["new"] for d in second["results"]] == [{"question_text": "edited"}]
    assert get(url)[0] in (401, 403)  # no credentials: the viewset's permission class

    Ticket.objects.create(title="ann's", owner="ann")
    Ticket.objects.create(title="bob's", owner="bob")
    tickets = f"{api_server}/tickets/changes/"
    wait_until(lambda: len(ModelFeed("testapp.ticket").page().diffs) == 2, timeout=30)  # stored
    titles = [d["new"]["title"] for d in json.loads(get(tickets, auth)[2])["results"]]
    assert titles == ["ann's"]
