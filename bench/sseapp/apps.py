from django.apps import AppConfig


class SseAppConfig(AppConfig):
    name = "bench.sseapp"
    label = "sseapp"
    default_auto_field = "django.db.models.AutoField"
