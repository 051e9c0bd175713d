"""Storage, in Redis: the one client factory, the key names, writes, reads and pruning.

``connection`` builds the storage client, ``keys`` names every key, ``store`` writes and reads
sorted sets, ``writer`` checks a task payload and stores it (the worker's side), ``pruning``
removes what is older than its max age.
"""
