"""The recording side, in the web process: a save or delete of a registered model becomes a diff.

``tracking`` keeps each instance's loaded state, ``handlers`` turn signals into diffs (with
``encoding``'s field values), ``m2m`` does the same for many-to-many changes, and ``buffer``
holds a transaction's diffs until it commits, then hands them to the transport. ``context``
holds the change context every diff carries and the ``disabled()`` switch; ``propagation``
carries the context into Celery tasks.
"""
