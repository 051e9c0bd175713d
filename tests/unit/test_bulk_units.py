"""The pure parts of recording bulk writes: chunks, the values an update assigns, field names."""

from django.db.models import F, Value

from diffs.recording import bulk
from tests.bulkapp.models import Author, Book


def test_chunks_cover_every_item_in_order():
    assert [list(c) for c in bulk.chunks(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(bulk.chunks([], 3)) == []


def test_an_update_assigns_pks_for_instances_and_f_for_expressions():
    books = [Book(title="a", pages=1), Book(title="b", pages=2)]
    bulk.assign(Book, books, {"pages": F("pages") + 1, "author": Author(pk=4), "title": "t"})
    for book in books:
        assert book.pages == F("pages")
        assert book.author_id == 4
        assert book.title == "t"
    bulk.assign(Book, books, {"author_id": 5, "title": Value("v")})
    assert [(b.author_id, b.title) for b in books] == [(5, F("title")), (5, F("title"))]


def test_written_field_names_are_field_names_whatever_was_given():
    assert bulk.written_field_names(Book, ["author_id", "pages"]) == ["author", "pages"]
