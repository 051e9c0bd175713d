"""The transport: committed diffs reach the worker as Celery task messages, or wait in the database.

``sink`` is where the recording side hands committed diffs; by default it publishes through
``runtime``, this process's one object made on first use: ``background``'s publisher thread,
``publish``'s synchronous sender (which keeps a batch the broker refuses), ``producer``'s lean,
long-lived kombu producers and ``counters``. ``pending`` is the ``PendingDiff`` table (spool,
outbox, and the worker's confirmation of what it stored).
"""
