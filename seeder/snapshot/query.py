"""Searching a snapshot offline with an OData ``$filter``, without touching the source environment.

The filter is parsed once by :func:`seeder.odata.parse_filter` (a :class:`UsageError` with the position
of a syntax error) and evaluated by :func:`seeder.odata.evaluate` against each record as it streams
from the chunks, so memory stays flat however large the table. For an incremental snapshot the table is
searched as it was at that point (:meth:`Snapshot.resolved_records`).
"""

from __future__ import annotations

from collections.abc import Iterator

from seeder.model import Record
from seeder.odata import evaluate, parse_filter
from seeder.snapshot.reader import Snapshot

__all__ = ["query"]


def query(
    snapshot: Snapshot,
    table: str,
    filter: str | None = None,
    *,
    limit: int | None = None,
    resolved: bool = True,
) -> Iterator[Record]:
    """Records of ``table`` matching ``filter`` (all when ``None``), in primary-id order.

    ``limit`` stops after that many matches; ``resolved=False`` searches only what this snapshot stores
    (for a delta table, the changed rows).
    """
    node = parse_filter(filter) if filter is not None and filter.strip() else None
    snapshot.entry(table)
    records = snapshot.resolved_records(table) if resolved else snapshot.records(table)
    found = 0
    if limit is not None and limit <= 0:
        return
    for record in records:
        if node is not None and not evaluate(node, record):
            continue
        yield record
        found += 1
        if limit is not None and found >= limit:
            return
