from django.apps import AppConfig


class HttpBenchConfig(AppConfig):
    name = "bench.httpapp"
    label = "httpbench"
    default_auto_field = "django.db.models.AutoField"
