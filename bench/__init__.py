"""Benchmarks of django-diffs (``make bench``); not part of the installed package."""
