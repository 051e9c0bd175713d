"""Test dependencies that some pairs of the matrix cannot install, and the skip of their tests.

``tests/settings.py`` installs each app only where its package is there: django-celery-beat
requires Django < 6.1, so the Django 6.1 sessions of noxfile.py run without it.
"""

from __future__ import annotations

import pytest
from django.conf import settings

needs_celery_beat = pytest.mark.skipif(
    "django_celery_beat" not in settings.INSTALLED_APPS,
    reason="django-celery-beat is not installed (it does not allow this Django version yet)",
)

needs_rest_framework = pytest.mark.skipif(
    "rest_framework" not in settings.INSTALLED_APPS,
    reason="djangorestframework (the drf extra) is not installed",
)
