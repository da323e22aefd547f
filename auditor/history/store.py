"""The SQLite history: runs, findings and resource configuration, written with sqlite-utils.

Findings and resource configurations are stored as *states* with a run range (``from_seq``..``to_seq``): a
nightly run that changes nothing extends the ranges instead of copying 100,000 rows, which keeps a year of
history small. A run is inserted as ``failed`` before the scan starts and becomes ``complete`` or ``partial``
in the one transaction that writes its findings, so a kill at any moment leaves it ``failed`` and the rest of
the history intact.
"""
from __future__ import annotations

from auditor.history.writes import HistoryWrites


class HistoryStore(HistoryWrites):
    """The history: open it with a path (``read_only=True`` for the server); queries.py reads, writes.py writes."""
