"""The transport: committed diffs reach the worker as Celery task messages, or wait in the database.

``publish`` builds and sends a batch (or keeps it when the broker refuses), ``producer`` is the
lean, long-lived kombu producer under it, ``pending`` the ``PendingDiff`` table (spool, outbox,
and the worker's confirmation of what it stored).
"""
