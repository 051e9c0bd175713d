"""Bulk writes inside a project's ``TestCase`` with the testing kit: readable right after."""

from django.db.models import F
from django.test import TestCase

from diffs.testing import DiffsTestMixin
from tests.bulkapp.models import Book, Shelf


class BulkWritesInATestCase(DiffsTestMixin, TestCase):
    def test_each_bulk_write_is_readable_at_once(self):
        shelf = Shelf.objects.create(name="s")
        books = Book.objects.bulk_create(Book(title=f"b{i}", shelf=shelf) for i in range(200))
        books[0].pages = 3
        Book.objects.bulk_update(books, ["pages"])
        Book.objects.filter(shelf=shelf).update(pages=F("pages") + 1)
        self.assertEqual([d.new.get("pages") for d in self.recorded(books[0])], [0, 3, 4])
        self.assertEqual(len(self.recorded(books[1])), 2)
        Book.objects.all().delete()
        self.assertDiffRecorded(Book, books[1].pk, deleted=True)
        self.assertEqual(len(self.recorded(shelf)), 1 + 200 + 1 + 200 + 200)
