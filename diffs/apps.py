"""The Django app of django-diffs."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.core.signals import setting_changed

from . import checks as diffs_checks
from . import conf, installer, metrics
from .recording import propagation
from .storage import topology


class DiffsConfig(AppConfig):
    """Finishes the wiring that needs every model, and registers the system checks.

    Models register themselves with ``@diffs.register`` as their module loads.
    """

    name = "diffs"
    verbose_name = "Diffs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        installer.finish(self.apps.get_models())  # type: ignore[union-attr]  # set before ready()
        # The settings snapshot, its problems logged once: WSGI and workers run no checks.
        conf.diffs_settings.reload()
        topology.report()
        setting_changed.connect(conf.reload_on_change, dispatch_uid="diffs.conf.reload")
        propagation.connect()  # the change context follows work into Celery tasks
        metrics.install()  # with prometheus-client only: the diffs_* metrics in its registry

        checks.register(diffs_checks.check_settings, "diffs")
        checks.register(diffs_checks.check_registrations, "diffs")
        checks.register(diffs_checks.check_celery_app, "diffs")
        checks.register(diffs_checks.check_schedule, "diffs")
        checks.register(diffs_checks.check_publisher, "diffs")
        checks.register(diffs_checks.check_redis_reachable, "diffs", deploy=True)
        checks.register(diffs_checks.check_eviction_policy, "diffs", deploy=True)
