from django.apps import AppConfig


class BulkappConfig(AppConfig):
    name = "tests.bulkapp"
    default_auto_field = "django.db.models.AutoField"
