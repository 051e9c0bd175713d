"""A Django REST framework API of the test app (tests/urls.py includes it where DRF is there).

``QuestionViewSet`` shows only questions whose text does not start with "hidden", and
``TicketViewSet`` (a model with a model feed) only the tickets the user owns: their
``get_queryset()`` is what ``ChangesMixin`` goes through.
"""

from rest_framework import permissions, routers, serializers, viewsets

from diffs.contrib.rest_framework import ChangesMixin, DiffSerializer
from tests.testapp.models import Question, Ticket


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "question_text"]


class KindDiffSerializer(DiffSerializer):
    """A project's own diff serializer: one field more."""

    kind = serializers.SerializerMethodField()

    def get_kind(self, diff):
        return "created" if diff.created else "deleted" if diff.deleted else "changed"


class QuestionViewSet(ChangesMixin, viewsets.ModelViewSet):
    serializer_class = QuestionSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return Question.objects.exclude(question_text__startswith="hidden").order_by("pk")


class KindQuestionViewSet(QuestionViewSet):
    changes_serializer_class = KindDiffSerializer


class TicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = ["id", "title", "status", "owner"]


class TicketViewSet(ChangesMixin, viewsets.ModelViewSet):
    """Tickets (a model feed): a user sees the tickets they own."""

    serializer_class = TicketSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return Ticket.objects.filter(owner=self.request.user.username).order_by("pk")


router = routers.DefaultRouter()
router.register("questions", QuestionViewSet, basename="question")
router.register("kind-questions", KindQuestionViewSet, basename="kind-question")
router.register("tickets", TicketViewSet, basename="ticket")
urlpatterns = router.urls
