"""The Django app of django-diffs."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class DiffsConfig(AppConfig):
    """Registers the system checks; models register themselves with ``@diffs.register``."""

    name = "diffs"
    verbose_name = "Diffs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks as diffs_checks
        from .registry import connect_many_to_many, connect_proxies, registrations

        connect_proxies(self.apps.get_models())  # type: ignore[union-attr]
        connect_many_to_many(registrations())

        checks.register(diffs_checks.check_settings, "diffs")
        checks.register(diffs_checks.check_registrations, "diffs")
        checks.register(diffs_checks.check_celery_app, "diffs")
        checks.register(diffs_checks.check_redis_reachable, "diffs", deploy=True)
