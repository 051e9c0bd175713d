"""Bulk writes through ``diffs.RecordedManager``, recorded through the real worker into Redis."""

import logging

import pytest
from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext

import diffs
from diffs.models import PendingDiff
from diffs.recording import bulk
from diffs.transport import runtime, sink
from tests.bulkapp.models import Author, Book, Box, Loan, Member, Shelf, Unlisted
from tests.conftest import wait_for_diffs, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker")]


@pytest.fixture
def tasks():
    """Count the write tasks published (each is still sent to the real worker)."""
    sent = []

    def counting(batch, outbox=None):
        sent.append(len(batch))
        runtime.current().publish(batch, outbox)

    with sink.replaced(counting):
        yield sent


def _books(count, **values):
    return Book.objects.bulk_create(Book(title=f"book {i}", **values) for i in range(count))


def _settle(broker):
    """Wait until every task sent so far has been written."""
    assert diffs.flush(timeout=10)  # handed to the broker by the background publisher
    wait_until(lambda: broker.llen("diffs") == 0 and not broker.hlen("unacked"))


def test_bulk_create_records_a_create_diff_per_object_in_one_task(tasks):
    books = _books(3, pages=10)
    assert all(book.pk is not None for book in books)
    assert tasks == [3]
    for book in books:
        (diff,) = wait_for_diffs(book.diffs, 1)
        assert diff.created and diff.old == {}
        assert diff.new == {"title": book.title, "pages": 10, "shelf": None, "author": None}


def test_bulk_create_moves_the_tracked_state_so_a_later_save_records_only_its_change():
    (book,) = _books(1, pages=1)
    book.pages = 2
    book.save()
    _, diff = wait_for_diffs(book.diffs, 2)
    assert diff.old == {"pages": 1} and diff.new == {"pages": 2}


def test_bulk_create_with_conflicts_ignored_refuses_before_writing():
    with pytest.raises(diffs.NotRecordable, match="ignore_conflicts"):
        Book.objects.bulk_create([Book(title="t")], ignore_conflicts=True)
    assert not Book.objects.exists()


def test_bulk_create_with_conflicts_ignored_writes_unrecorded_without_raise_errors(
    settings, diffs_log, broker
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}
    Book.objects.bulk_create([Book(pk=7, title="t")], ignore_conflicts=True)
    assert Book.objects.filter(pk=7).exists()
    assert any("not recorded" in r.getMessage() and r.levelno == logging.ERROR
               for r in diffs_log)
    _settle(broker)
    assert len(Book(pk=7).diffs) == 0


def test_bulk_update_records_old_values_from_the_tracked_state_and_only_changes(tasks):
    books = _books(3, pages=1)
    books[0].pages = 5
    books[1].title = "renamed"
    Book.objects.bulk_update(books, ["title", "pages"])
    assert tasks == [3, 2]  # book 2 changed nothing: no diff
    _, diff = wait_for_diffs(books[0].diffs, 2)
    assert (diff.old, diff.new) == ({"pages": 1}, {"pages": 5})
    _, diff = wait_for_diffs(books[1].diffs, 2)
    assert (diff.old, diff.new) == ({"title": "book 1"}, {"title": "renamed"})
    books[0].pages = 6
    Book.objects.bulk_update(books, ["pages"])  # the state moved forward: old is 5
    _, _, diff = wait_for_diffs(books[0].diffs, 3)
    assert (diff.old, diff.new) == ({"pages": 5}, {"pages": 6})


def test_bulk_update_of_loaded_instances_records_their_loaded_values_as_old():
    _books(2, pages=3)
    books = list(Book.objects.order_by("pk"))
    for book in books:
        book.pages = F("pages") * 2
    Book.objects.bulk_update(books, ["pages"])
    for book in books:
        _, diff = wait_for_diffs(book.diffs, 2)
        assert (diff.old, diff.new) == ({"pages": 3}, {"pages": 6})  # F() read back


def test_update_records_each_matched_row_with_its_old_and_new_values(tasks):
    books = _books(3, pages=1)
    Book.objects.filter(pk=books[2].pk).update(pages=9)
    count = Book.objects.filter(pages=1).update(title="same", pages=2)
    assert count == 2
    assert tasks == [3, 1, 2]  # one task per update, one diff per changed row
    _, diff = wait_for_diffs(books[0].diffs, 2)
    assert diff.old == {"title": "book 0", "pages": 1}
    assert diff.new == {"title": "same", "pages": 2}
    _, diff = wait_for_diffs(books[2].diffs, 2)  # no longer matched by the second update
    assert (diff.old, diff.new) == ({"pages": 1}, {"pages": 9})


def test_update_with_expressions_reads_the_new_values_back():
    books = _books(2, pages=4)
    Book.objects.update(pages=F("pages") + 1, title=Concat("title", Value("!")))
    for book in books:
        _, diff = wait_for_diffs(book.diffs, 2)
        assert diff.new == {"pages": 5, "title": f"{book.title}!"}
        assert diff.old == {"pages": 4, "title": book.title}


def test_update_reads_old_rows_once_writes_once_and_reads_back_once():
    _books(50)
    with CaptureQueriesContext(connection) as plain_values:
        Book.objects.update(pages=3)
    with CaptureQueriesContext(connection) as expression:
        Book.objects.update(pages=F("pages") + 1)
    sql = [q["sql"] for q in plain_values.captured_queries]
    assert [s.split()[0] for s in sql if s.split()[0] in ("SELECT", "UPDATE")] == [
        "SELECT", "UPDATE"]
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in sql[[s.split()[0] for s in sql].index("SELECT")]
    sql = [q["sql"].split()[0] for q in expression.captured_queries]
    assert [s for s in sql if s in ("SELECT", "UPDATE")] == ["SELECT", "UPDATE", "SELECT"]


def test_update_of_more_rows_than_one_query_may_name_records_every_row(monkeypatch, tasks):
    monkeypatch.setattr(bulk, "MAX_CHUNK", 2)
    books = _books(5, pages=1)
    assert Book.objects.update(pages=F("pages") + 1) == 5
    assert tasks == [5, 5]
    for book in books:
        assert wait_for_diffs(book.diffs, 2)[-1].new == {"pages": 2}


def test_update_that_changes_no_value_records_nothing(broker, tasks):
    books = _books(2, pages=1)
    assert Book.objects.update(pages=1) == 2
    assert Book.objects.filter(pk=-1).update(pages=5) == 0  # no rows
    assert tasks == [2]
    _settle(broker)
    assert [len(book.diffs) for book in books] == [1, 1]


def test_update_through_a_related_manager_and_a_projects_own_queryset_is_recorded():
    shelf = Shelf.objects.create(name="s")
    (book,) = _books(1, shelf=shelf)
    shelf.book_set.update(pages=12)
    box = Box.objects.create(name="b")
    Box.objects.named("b").update(size=3)
    _, diff = wait_for_diffs(book.diffs, 2)
    assert diff.new == {"pages": 12}
    _, diff = wait_for_diffs(box.diffs, 2)
    assert (diff.old, diff.new) == ({"size": 0}, {"size": 3})


def test_related_managers_record_through_the_model_s_managers(broker):
    author = Author.objects.create(name="a")
    (book,) = _books(1)
    loan = Loan.objects.create(reader="r")
    author.book_set.add(book)  # an update() on Book's base manager: a recorded one
    author.loan_set.add(loan)  # Loan's base manager is Django's: not recorded
    _, diff = wait_for_diffs(book.diffs, 2)
    assert (diff.old, diff.new) == ({"author": None}, {"author": author.pk})
    author.book_set.clear()  # an update() on the related manager's own queryset
    _, _, diff = wait_for_diffs(book.diffs, 3)
    assert diff.new == {"author": None}
    _settle(broker)
    assert len(loan.diffs) == 1


def test_delete_records_each_row_and_its_cascades(tasks):
    shelf = Shelf.objects.create(name="s")
    author = Author.objects.create(name="a")
    books = _books(2, shelf=shelf, author=author)
    loan = Loan.objects.create(reader="r", author=author)
    tasks.clear()
    Author.objects.filter(pk=author.pk).delete()
    assert tasks == [3]  # the author, and both books' author set to NULL
    _, diff = wait_for_diffs(author.diffs, 2)
    assert diff.deleted and diff.old == {"name": "a"}
    _, diff = wait_for_diffs(books[0].diffs, 2)
    assert (diff.old, diff.new) == ({"author": author.pk}, {"author": None})
    Shelf.objects.all().delete()  # CASCADE: each book's own diff
    _, _, diff = wait_for_diffs(books[1].diffs, 3)
    assert diff.deleted
    assert Loan.objects.get(pk=loan.pk).author_id is None
    assert len(loan.diffs) == 1  # Loan's base manager is Django's: that cascade is not recorded


def test_rolled_back_bulk_writes_record_nothing_and_restore_the_tracked_state(broker):
    (book,) = _books(1, pages=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        _books(2)
        book.pages = 2
        Book.objects.bulk_update([book], ["pages"])
        Book.objects.update(title="gone")
        Book.objects.all().delete()
        raise RuntimeError
    Shelf.objects.create(name="marker")
    _settle(broker)
    assert len(book.diffs) == 1
    assert Book.objects.count() == 1
    assert book.get_dirty_fields() == {"pages": 1}  # the state is the database's again


def test_bulk_writes_of_one_transaction_go_as_one_task(tasks):
    with transaction.atomic():
        books = _books(3)
        for book in books:
            book.pages = 7
        Book.objects.bulk_update(books, ["pages"])
        Book.objects.update(title="t")
        deleted_pk = books[0].pk
        books[0].delete()
    assert tasks == [3 + 3 + 3 + 1]
    created, updated, renamed = wait_for_diffs(books[1].diffs, 3)
    assert created.created and updated.new == {"pages": 7} and renamed.new == {"title": "t"}
    assert wait_for_diffs(Book.diffs.get_by_object_id(deleted_pk), 4)[-1].deleted


def test_diffs_of_bulk_writes_roll_up_to_the_parents():
    shelf = Shelf.objects.create(name="s")
    books = _books(2, shelf=shelf)
    Book.objects.update(pages=3)
    found = wait_for_diffs(shelf.diffs, 1 + 4)
    assert [(d.model, d.pk) for d in found[1:]] == [
        ("bulkapp.book", books[0].pk), ("bulkapp.book", books[1].pk)] * 2


def test_fields_excluded_from_the_registration_are_not_recorded(broker, tasks):
    (member,) = Member.objects.bulk_create([Member(name="m", secret="s1")])
    with CaptureQueriesContext(connection) as queries:
        assert Member.objects.update(secret="s2") == 1
    assert len(queries.captured_queries) == 1  # Django's own update: nothing to record
    Member.objects.update(name="n", secret="s3")
    assert tasks == [1, 1]
    (created, diff) = wait_for_diffs(member.diffs, 2)
    assert created.new == {"name": "m"}
    assert (diff.old, diff.new) == ({"name": "m"}, {"name": "n"})


def test_outbox_mode_keeps_each_diff_in_the_transaction_until_stored(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "durability": "outbox"}
    with transaction.atomic():
        books = _books(3)
        Book.objects.update(pages=2)
        assert PendingDiff.objects.count() == 6
    wait_for_diffs(books[2].diffs, 2)
    wait_until(lambda: not PendingDiff.objects.exists())


def test_empty_bulk_writes_record_nothing_and_send_nothing(tasks):
    assert Book.objects.bulk_create([]) == []
    assert Book.objects.bulk_update([], ["pages"]) == 0
    assert Book.objects.none().update(pages=1) == 0
    assert Book.objects.all().delete() == (0, {})
    assert tasks == []


def test_a_model_that_is_not_registered_is_refused_before_writing():
    with pytest.raises(diffs.NotRegistered, match="Unlisted"):
        Unlisted.objects.bulk_create([Unlisted(name="x")])
    assert not Unlisted.objects.exists()
    with pytest.raises(diffs.NotRegistered):
        Unlisted.objects.update(name="y")


def test_recording_switched_off_writes_without_recording(settings, broker, tasks):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "enabled": False}
    (book,) = _books(1)
    Book.objects.update(pages=4)
    book.pages = 5
    Book.objects.bulk_update([book], ["pages"])
    assert tasks == []
    assert Book.objects.get().pages == 5


def test_bulk_writes_inside_disabled_record_nothing(tasks):
    with diffs.disabled():
        (book,) = _books(1)
        Book.objects.update(pages=4)
        book.pages = 5
        Book.objects.bulk_update([book], ["pages"])
        Book.objects.all().delete()
    assert tasks == []


def test_bulk_writes_carry_the_change_context():
    with diffs.context(actor=21, reason="backfill"):
        (book,) = _books(1, pages=1)
        Book.objects.update(pages=2)
    created, updated = wait_for_diffs(book.diffs, 2)
    assert created.context == updated.context == {"actor": 21, "reason": "backfill"}


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_bulk_writes_on_another_database_are_recorded_in_its_histories():
    Book.objects.using("other").bulk_create([Book(pk=3, title="there", pages=1)])
    Book.objects.using("other").update(pages=2)
    here, there = Book.diffs.get_by_object_id(3), Book.diffs.using("other").get_by_object_id(3)
    _, diff = wait_for_diffs(there, 2)
    assert (diff.old, diff.new, diff.using) == ({"pages": 1}, {"pages": 2}, "other")
    assert len(here) == 0


def test_async_bulk_writes_are_recorded():
    async def write():
        (book,) = await Book.objects.abulk_create([Book(title="async", pages=1)])
        await Book.objects.filter(pk=book.pk).aupdate(pages=2)
        return book

    book = async_to_sync(write)()
    _, diff = wait_for_diffs(book.diffs, 2)
    assert (diff.old, diff.new) == ({"pages": 1}, {"pages": 2})
