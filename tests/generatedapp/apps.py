from django.apps import AppConfig


class GeneratedAppConfig(AppConfig):
    """Models with ``GeneratedField`` (Django >= 5.0), installed only where Django has it."""

    name = "tests.generatedapp"
    default_auto_field = "django.db.models.AutoField"
