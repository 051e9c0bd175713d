"""The Django app of django-diffs."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

from . import checks as diffs_checks
from . import conf, installer
from .recording import propagation


class DiffsConfig(AppConfig):
    """Finishes the wiring that needs every model, and registers the system checks.

    Models register themselves with ``@diffs.register`` as their module loads.
    """

    name = "diffs"
    verbose_name = "Diffs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        installer.finish(self.apps.get_models())  # type: ignore[union-attr]
        conf.report_all()  # once, whatever runs: WSGI and workers run no system checks
        propagation.connect()  # the change context follows work into Celery tasks

        checks.register(diffs_checks.check_settings, "diffs")
        checks.register(diffs_checks.check_registrations, "diffs")
        checks.register(diffs_checks.check_celery_app, "diffs")
        checks.register(diffs_checks.check_schedule, "diffs")
        checks.register(diffs_checks.check_publisher, "diffs")
        checks.register(diffs_checks.check_redis_reachable, "diffs", deploy=True)
        checks.register(diffs_checks.check_eviction_policy, "diffs", deploy=True)
