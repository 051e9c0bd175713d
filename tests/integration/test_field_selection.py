"""``fields=`` / ``exclude=`` decide what is recorded: an excluded field never reaches Redis."""

import pytest

from tests.integration.conftest import stored
from tests.testapp.models import Account

SECRET = "pbkdf2_sha256$never-in-redis"


@pytest.mark.django_db(transaction=True)
def test_excluded_secret_never_reaches_redis(delivery, storage):
    account = Account.objects.create(username="ann", password=SECRET)
    account.password = SECRET + "-rotated"
    account.save()  # changes only the excluded field: nothing to record
    account.username = "anna"
    account.save()
    pk = account.pk
    account.delete()
    created, renamed, deleted = stored(Account.diffs.get_by_object_id(pk), 3)
    assert created.new == {"username": "ann"}
    assert renamed.old == {"username": "ann"}
    assert deleted.old == {"username": "anna"}
    members = [
        member
        for key in storage.scan_iter("*")
        if storage.type(key) == "zset"
        for member in storage.zrange(key, 0, -1)
    ]
    assert members and not any("never-in-redis" in member for member in members)


