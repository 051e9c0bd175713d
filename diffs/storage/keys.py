"""The names of the Redis keys django-diffs writes, for a prefix ``diffs``:

* ``diffs:<app_label.model>:<pk>``: a sorted set per object; members are the diffs made to the
  object and rolled up from its children, scored by the unix time of the change. A label never
  contains ``:``, so whatever the pk holds, a key names exactly one object. An object of a
  database other than ``default`` is ``diffs:<app_label.model>@<database>:<pk>`` (the database's
  name in keys: ``DIFFS_SETTINGS["database_keys"]``, else its alias).
* ``diffs:~due``: the prune index, a sorted set of object keys scored by the time their oldest
  member expires.
* ``diffs:~resend``: held for ``resend_interval`` seconds by the worker that sends kept diffs
  again, so that the workers together do it at most once per interval.
* ``diffs:~written``: a pub/sub channel (not a key): after each write a worker publishes the
  object keys it added diffs to, as a JSON array, so waiting readers wake without polling.

The prune script needs a key's label back (each model has its own max age):
:data:`LABEL_OF_KEY_LUA` is the one place that reads a key, next to the one that builds it.
"""

from __future__ import annotations

#: The index's name after the prefix; ``~`` never starts a model label.
INDEX_SUFFIX = "~due"
#: The written-keys channel's name after the prefix.
CHANNEL_SUFFIX = "~written"


def object_key(prefix: str, label: str, pk: int | str, database: str = "") -> str:
    """Return the key of one object's sorted set (``database``: its name in keys, "" default)."""
    if database:
        return f"{prefix}:{label}@{database}:{pk}"
    return f"{prefix}:{label}:{pk}"


def index_key(prefix: str) -> str:
    """Return the key of the prune index."""
    return f"{prefix}:{INDEX_SUFFIX}"


def resend_lock_key(prefix: str) -> str:
    """Return the key whose holder sends kept diffs again this interval."""
    return f"{prefix}:~resend"


def written_channel(prefix: str) -> str:
    """Return the pub/sub channel on which workers announce the keys they wrote."""
    return f"{prefix}:{CHANNEL_SUFFIX}"


#: ``label_of(key, prefix_length)``: the label of an :func:`object_key`, or nil.
LABEL_OF_KEY_LUA = """
local function label_of(key, prefix_length)
  local rest = string.sub(key, prefix_length + 2)
  local colon = string.find(rest, ':', 1, true)
  if not colon then return nil end
  local label = string.sub(rest, 1, colon - 1)
  local at = string.find(label, '@', 1, true)
  if at then return string.sub(label, 1, at - 1) end
  return label
end
"""
