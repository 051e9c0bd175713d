from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    name = "bench.benchapp"
    label = "benchapp"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from . import naive  # noqa: F401  (connects the naive design's handler and task)
