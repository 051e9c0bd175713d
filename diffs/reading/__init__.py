"""The reading side: an object's diffs as values, and the net change between two points.

``diff`` is the ``Diff`` value type, ``diffset`` the ``Model.diffs`` / ``instance.diffs`` API
that reads Redis, ``delta`` the pure net-change logic and its types, ``related`` the lookup of
related objects for ``foreign_keys_are_objs``.
"""
