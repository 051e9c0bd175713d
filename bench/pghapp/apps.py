from django.apps import AppConfig


class PghBenchConfig(AppConfig):
    name = "bench.pghapp"
    label = "pghbench"
    default_auto_field = "django.db.models.AutoField"
