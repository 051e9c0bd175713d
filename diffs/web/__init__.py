"""The web side: the JSON changes feed (``feed``, with its ``cursor`` and ``access`` rules) and
the admin's history page (``history``). ``diffs.urls`` and ``diffs.admin`` wire them in."""
