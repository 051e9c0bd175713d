"""Models whose manager records bulk writes (``diffs.RecordedManager``): test_bulk.py."""

from django.db import models

import diffs


@diffs.register
class Shelf(models.Model):
    name = models.CharField(max_length=50)

    objects = diffs.RecordedManager()


@diffs.register
class Author(models.Model):
    name = models.CharField(max_length=50)

    objects = diffs.RecordedManager()


@diffs.register
class Book(models.Model):
    """Rolls up to its shelf; its base manager records too, so SET_NULL cascades are recorded."""

    title = models.CharField(max_length=100)
    pages = models.IntegerField(default=0)
    shelf = models.ForeignKey(Shelf, null=True, on_delete=models.CASCADE)
    author = models.ForeignKey(Author, null=True, on_delete=models.SET_NULL)

    objects = diffs.RecordedManager()

    class Meta:
        base_manager_name = "objects"

    def get_diff_parent(self):
        return Shelf(pk=self.shelf_id) if self.shelf_id else None


@diffs.register
class Loan(models.Model):
    """Its base manager is Django's: a SET_NULL cascade onto it is not recorded."""

    reader = models.CharField(max_length=50)
    author = models.ForeignKey(Author, null=True, on_delete=models.SET_NULL)

    objects = diffs.RecordedManager()


@diffs.register(exclude=["secret"])
class Member(models.Model):
    name = models.CharField(max_length=50)
    secret = models.CharField(max_length=50, default="")

    objects = diffs.RecordedManager()


class Unlisted(models.Model):
    """Not registered, though its manager is a recorded one."""

    name = models.CharField(max_length=50)

    objects = diffs.RecordedManager()


class ShelfQuerySet(diffs.RecordedQuerySet):
    """A project's own queryset, combined with the recorded one by subclassing."""

    def named(self, name):
        return self.filter(name=name)


@diffs.register
class Box(models.Model):
    name = models.CharField(max_length=50)
    size = models.IntegerField(default=0)

    objects = ShelfQuerySet.as_manager()
