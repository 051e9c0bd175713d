"""The quick start's ``polls`` app, for the tests that run the docs' examples.

The docs write ``from polls.models import Question``; ``tests/settings.py`` puts
``tests/docs_project`` on ``sys.path`` so that this app imports under that name. Its models are
the docs' ``polls/models.py`` blocks, class for class (``tests/e2e/test_docs_examples.py``
checks it).
"""
