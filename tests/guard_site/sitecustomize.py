"""Guards a process a test starts with this directory first on ``PYTHONPATH``: see
``tests/connect_guard.py``."""

from tests.connect_guard import install

install()
