"""The names of the Redis keys django-diffs writes, for a prefix ``diffs``.

The layout is made for Redis Cluster and is the same on one server and under Sentinel, so a
user changes only the ``redis`` setting. Every object falls in one of :data:`BUCKETS` buckets
(``crc32`` of its label and pk), and each bucket's keys carry the bucket as a hash tag
(``{7}``), so they share one cluster slot and one script call may touch all of them:

* ``diffs:{<b>}:<app_label.model>:<pk>``: a sorted set per object; members are the diffs made
  to the object and rolled up from its children, scored by their arrival *position*: the
  storage Redis' clock when the write script stored them, in unix seconds, always at least a
  microsecond above the key's last score and never before the diff's change time, so the order
  of scores is the order of arrival (a diff kept during an outage and stored late comes after
  those stored before it). The change time is in the diff's id. A label
  never contains ``:``, so whatever the pk holds, a key names exactly one object. An object of a
  database other than ``default`` is ``diffs:{<b>}:<app_label.model>@<database>:<pk>`` (the
  database's name in keys: ``DIFFS_SETTINGS["database_keys"]``, else its alias).
* ``diffs:{<b>}:~due:<app_label.model>``: the bucket's prune index of one model, a sorted set of
  object keys scored by the position of their OLDEST member (not by when it expires), so a prune
  finds everything older than the model's current max age with one ``ZRANGEBYSCORE``, whatever
  the age was when the diffs were written.
* ``diffs:{<app_label.model>[@<database>]}:~feed``: the feed of a model registered with
  ``model_feed=True``: every diff of its objects (each member also names its pk), positioned
  the same way. Its hash tag is the label, so a model's feed is one slot of a cluster.
* ``diffs:{<b>}:~labels``: the labels that have an index in the bucket (so the prune also
  visits models that are no longer registered, with the default age).
* ``diffs:~resend``: held for ``resend_interval`` seconds by the worker that sends kept diffs
  again, so that the workers together do it at most once per interval.
* ``diffs:{<b>}:~acked``: written after the diffs of a bucket when ``storage_replicas`` asks
  for acknowledgements: the ``WAIT`` that follows on the same connection then covers them.
* ``diffs:~last_write`` and ``diffs:~pruned``: when a worker last wrote (at most once a second
  per process), and a hash of the last prune (when, what it removed): ``diffs_status`` reads
  them.
* ``diffs:~written``: a pub/sub channel (not a key): after each write a worker publishes the
  object keys it added diffs to, as a JSON array, so waiting readers wake without polling.
"""

from __future__ import annotations

import zlib

#: How many buckets the objects are spread over: each is one cluster slot, and a prune or a
#: write makes one script call per bucket it touches. Fixed: changing it would move every key.
BUCKETS = 64
#: The index's name after the bucket; ``~`` never starts a model label.
INDEX_SUFFIX = "~due"
#: A model feed's name after its hash tag.
FEED_SUFFIX = "~feed"
#: The written-keys channel's name after the prefix.
CHANNEL_SUFFIX = "~written"


def object_name(label: str, pk: int | str, database: str = "") -> str:
    """Return the part of an object's key after its bucket: ``label[@database]:pk``."""
    if database:
        return f"{label}@{database}:{pk}"
    return f"{label}:{pk}"


def bucket_of(name: str) -> int:
    """Return the bucket of an :func:`object_name` (stable across processes and versions)."""
    return zlib.crc32(name.encode()) % BUCKETS


def bucket_tag(prefix: str, bucket: int) -> str:
    """Return the start of every key of ``bucket``: ``prefix:{b}``."""
    return f"{prefix}:{{{bucket}}}"


def object_key(prefix: str, label: str, pk: int | str, database: str = "") -> str:
    """Return the key of one object's sorted set (``database``: its name in keys, "" default)."""
    name = object_name(label, pk, database)
    return f"{bucket_tag(prefix, bucket_of(name))}:{name}"


def feed_key(prefix: str, label: str, database: str = "") -> str:
    """Return the key of the model feed of ``label`` in a database (its name in keys)."""
    name = f"{label}@{database}" if database else label
    return f"{prefix}:{{{name}}}:{FEED_SUFFIX}"


def index_key(prefix: str, bucket: int, label: str) -> str:
    """Return the key of ``bucket``'s prune index of the model ``label``."""
    return f"{bucket_tag(prefix, bucket)}:{INDEX_SUFFIX}:{label}"


def labels_key(prefix: str, bucket: int) -> str:
    """Return the key of the set of labels that have a prune index in ``bucket``."""
    return f"{bucket_tag(prefix, bucket)}:~labels"


def resend_lock_key(prefix: str) -> str:
    """Return the key whose holder sends kept diffs again this interval."""
    return f"{prefix}:~resend"


def acked_key(tag: str) -> str:
    """Return the key written before a ``WAIT`` in the slot of a :func:`bucket_tag`."""
    return f"{tag}:~acked"


def last_write_key(prefix: str) -> str:
    """Return the key holding the unix time a worker last wrote diffs."""
    return f"{prefix}:~last_write"


def pruned_key(prefix: str) -> str:
    """Return the hash describing the last prune."""
    return f"{prefix}:~pruned"


def written_channel(prefix: str) -> str:
    """Return the pub/sub channel on which workers announce the keys they wrote."""
    return f"{prefix}:{CHANNEL_SUFFIX}"
