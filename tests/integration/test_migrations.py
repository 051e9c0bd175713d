"""Registering models changes nothing that migrations see: makemigrations finds no change."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_makemigrations_reports_no_changes_for_registered_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
