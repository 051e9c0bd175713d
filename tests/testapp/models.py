"""Models of the test suite; Question and Choice are the seed README's, as written there."""

import uuid

from dirtyfields import DirtyFieldsMixin
from django.db import models
from django.utils import timezone

import diffs


@diffs.register
class Question(models.Model):
    question_text = models.CharField(max_length=200)
    # The seed creates questions without a pub_date, so it needs a default to work as written.
    pub_date = models.DateTimeField("date published", default=timezone.now)

    def __str__(self):
        return self.question_text


@diffs.register
class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    choice_text = models.CharField(max_length=200)
    votes = models.IntegerField(default=0)

    def get_diff_parent(self):
        # save the db lookup
        return Question(id=self.question_id)


@diffs.register
class CustomQuestion(models.Model):
    question_text = models.CharField(max_length=200)
    pub_date = models.DateTimeField("date published", default=timezone.now)

    def serialize_diff(self, dirty_fields):
        return {"fields": dirty_fields}


@diffs.register
class AllTypes(models.Model):
    char = models.CharField(max_length=50, default="")
    text = models.TextField(default="")
    integer = models.IntegerField(default=0)
    big = models.BigIntegerField(default=0)
    decimal = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    floating = models.FloatField(default=0.0)
    boolean = models.BooleanField(default=False)
    date = models.DateField(null=True)
    moment = models.DateTimeField(null=True)
    time = models.TimeField(null=True)
    duration = models.DurationField(null=True)
    uuid = models.UUIDField(null=True)
    data = models.JSONField(null=True)
    email = models.EmailField(null=True)
    slug = models.SlugField(null=True)
    question = models.ForeignKey(Question, null=True, on_delete=models.SET_NULL)
    nullable = models.CharField(max_length=50, null=True)


@diffs.register
class Tag(models.Model):
    """A string primary key that may hold anything, ':' and newlines included."""

    code = models.CharField(primary_key=True, max_length=2000)
    name = models.CharField(max_length=50)


@diffs.register
class Token(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50)


@diffs.register
class Item(models.Model):
    """Same class name as otherapp.Item."""

    name = models.CharField(max_length=50)


@diffs.register
class Survey(models.Model):
    name = models.CharField(max_length=50)


@diffs.register
class Poll(models.Model):
    survey = models.ForeignKey(Survey, null=True, on_delete=models.CASCADE)
    title = models.CharField(max_length=50)

    def get_diff_parent(self):
        return Survey(pk=self.survey_id) if self.survey_id else None


@diffs.register
class Answer(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE)
    text = models.CharField(max_length=50)

    def get_diff_parent(self):
        return self.poll  # a loaded Poll, so its own parent hook can roll up further


@diffs.register
class Node(models.Model):
    parent = models.ForeignKey("self", null=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=50)

    def get_diff_parent(self):
        return self.parent


@diffs.register
class BadParent(models.Model):
    name = models.CharField(max_length=50)

    def get_diff_parent(self):
        return "not a model"


@diffs.register(exclude=["password"])
class Account(models.Model):
    username = models.CharField(max_length=50)
    password = models.CharField(max_length=128)


@diffs.register(fields=["title"], max_element_age=60)
class Note(models.Model):
    title = models.CharField(max_length=50)
    body = models.TextField(default="")


@diffs.register
class Legacy(DirtyFieldsMixin, models.Model):
    """Already uses django-dirtyfields itself."""

    name = models.CharField(max_length=50)


class Plain(models.Model):
    """Not registered: the baseline."""

    name = models.CharField(max_length=50)


class QuestionProxy(Question):
    """Saves through a proxy are recorded for the concrete model."""

    class Meta:
        proxy = True


# History diffing: the models of django-simple-history's "History Diffing" page
# (tests/integration/test_history_seed.py). Poll and Choice above are taken, hence the prefix.


class Category(models.Model):
    """Not registered: only the target of HistoryPoll.categories."""

    name = models.CharField(max_length=100)

    def __str__(self):
        return self.name


@diffs.register
class HistoryPoll(models.Model):
    # The seed names the text `question` in one example and `name` in the other.
    question = models.CharField(max_length=200, default="")
    name = models.CharField(max_length=200, default="")
    categories = models.ManyToManyField(
        Category, through="HistoryPollCategory", related_name="polls"
    )

    class Meta:
        verbose_name = "poll"  # as the seed prints it: "Deleted poll (pk=15)"

    def __str__(self):
        return self.name


class HistoryPollCategory(models.Model):
    """A custom through model, so the seed's dicts read {'poll': ..., 'category': ...}."""

    poll = models.ForeignKey(HistoryPoll, on_delete=models.CASCADE)
    category = models.ForeignKey(Category, on_delete=models.CASCADE)


@diffs.register
class HistoryChoice(models.Model):
    poll = models.ForeignKey(HistoryPoll, on_delete=models.CASCADE)
    choice = models.CharField(max_length=200, default="")


@diffs.register
class Person(models.Model):
    """Self-referencing many-to-many fields with auto-created through models."""

    name = models.CharField(max_length=50)
    friends = models.ManyToManyField("self")
    follows = models.ManyToManyField("self", symmetrical=False, related_name="followers")
    tags = models.ManyToManyField(Tag, related_name="people")

    def serialize_diff(self, dirty_fields):
        # Reads a field: a diff made from the other side needs the real row, not just its pk.
        return {"name": self.name, "fields": dirty_fields}


@diffs.register
class EveryField(models.Model):
    """One field of every type ``django.db.models`` ships (the pk is a BigAutoField)."""

    id = models.BigAutoField(primary_key=True)
    big = models.BigIntegerField(default=0)
    binary = models.BinaryField(default=b"")
    boolean = models.BooleanField(default=False)
    char = models.CharField(max_length=50, default="")
    date = models.DateField(null=True)
    moment = models.DateTimeField(null=True)
    decimal = models.DecimalField(max_digits=8, decimal_places=3, default=0)
    duration = models.DurationField(null=True)
    email = models.EmailField(default="")
    file = models.FileField(upload_to="files", blank=True)
    path = models.FilePathField(path="/", blank=True, default="")
    floating = models.FloatField(default=0.0)
    ip = models.GenericIPAddressField(null=True)
    image = models.ImageField(upload_to="images", blank=True, width_field="width",
                              height_field="height")
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    integer = models.IntegerField(default=0)
    data = models.JSONField(null=True)
    positive_big = models.PositiveBigIntegerField(default=0)
    positive_small = models.PositiveSmallIntegerField(default=0)
    slug = models.SlugField(default="")
    small = models.SmallIntegerField(default=0)
    text = models.TextField(default="")
    time = models.TimeField(null=True)
    url = models.URLField(default="")
    uuid = models.UUIDField(null=True)
    question = models.ForeignKey(Question, null=True, on_delete=models.SET_NULL)
    one = models.OneToOneField(Survey, null=True, on_delete=models.SET_NULL)
    tags = models.ManyToManyField(Tag, blank=True)


@diffs.register(read_old_values=True)
class Counter(models.Model):
    """Its old values are read from the row before each save (``read_old_values=True``)."""

    name = models.CharField(max_length=50)
    count = models.IntegerField(default=0)


@diffs.register
class PlainCounter(models.Model):
    """The same shape, registered with the default (old values from the loaded state)."""

    name = models.CharField(max_length=50)
    count = models.IntegerField(default=0)


@diffs.register(model_feed=True)
class Ticket(models.Model):
    """A model with a feed of its own: the changes of every ticket, in the order stored."""

    title = models.CharField(max_length=200, default="")
    status = models.CharField(max_length=20, default="open")
    owner = models.CharField(max_length=50, default="")
