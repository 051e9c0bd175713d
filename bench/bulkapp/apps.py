from django.apps import AppConfig


class BulkBenchConfig(AppConfig):
    name = "bench.bulkapp"
    label = "bulkbench"
    default_auto_field = "django.db.models.AutoField"
