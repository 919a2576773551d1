"""Row order inside one table with a self-reference: parents before children.

:func:`parent_first` is what a restore uses for a step's ``self_ordered`` lookups (for example
``account.parentaccountid``): each row is written after the row it references, so the lookup can be
set in the same upsert and no link pass is needed. Rows whose parent is not among the rows (orphans,
empty values) keep their place. Data can still contain a loop (A's parent is B, B's parent is A, or a
row that is its own parent): for each loop one row, the earliest in input order, is written with the
lookup empty and listed in :attr:`ParentOrder.relink`, so the restore sets it afterwards.

The order is stable: rows keep their input order except where a child must wait for its parent, in
which case it follows right after the parent (children in input order). Several self-references
(``adx_webpage.adx_parentpageid`` and ``adx_masterwebpageid``) are ordered together: a row waits for
all of its parents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from seeder.model import Record

__all__ = ["ParentOrder", "parent_first"]


@dataclass(frozen=True)
class ParentOrder:
    """The rows in write order, and the ids of rows to write with the parent empty and link later.

    Iterating over a ``ParentOrder`` yields the rows, so ``for row in parent_first(...)`` works.
    """

    records: tuple[Record, ...]
    relink: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": len(self.records), "relink": list(self.relink)}


def _key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).lower()


def parent_first(records: Iterable[Record], id_key: str, parent_key: str | Sequence[str]) -> ParentOrder:
    """``records`` ordered so that each row comes after the rows its ``parent_key`` names.

    ``id_key`` is the primary id property (``accountid``), ``parent_key`` the property holding the
    parent's id (``_parentaccountid_value``), or several of them when a table references itself
    through more than one lookup (``Step.self_ordered``): a row then waits for all its parents. Ids
    compare case-insensitively. Rows only need those properties, so a caller may pass small dicts for
    large tables. A row in ``relink`` is written with every ``parent_key`` empty, then linked.
    """
    keys = (parent_key,) if isinstance(parent_key, str) else tuple(parent_key)
    rows = list(records)
    ids = [_key(r.get(id_key)) for r in rows]
    index_of: dict[str, int] = {}
    for i, own in enumerate(ids):
        if own is not None:
            index_of.setdefault(own, i)
    parents: list[list[str]] = []
    waiting: dict[str, list[int]] = {}  # parent id → indexes of rows waiting for it, input order
    single = len(keys) == 1
    for i, row in enumerate(rows):
        if single:
            one = _key(row.get(keys[0]))
            found = [one] if one is not None and one in index_of else []
        else:
            found = sorted({p for p in (_key(row.get(k)) for k in keys) if p is not None and p in index_of})
        parents.append(found)
        for p in found:
            waiting.setdefault(p, []).append(i)
    pending = [len(p) for p in parents]
    done = [False] * len(rows)
    out: list[Record] = []
    relink: list[str] = []

    def release(index: int) -> None:
        stack = [index]
        while stack:
            i = stack.pop()
            if done[i]:
                continue
            done[i] = True
            out.append(rows[i])
            own = ids[i]
            if own is None or index_of.get(own) != i:
                continue
            ready = []
            for child in waiting.pop(own, []):
                pending[child] -= 1
                if pending[child] == 0 and not done[child]:
                    ready.append(child)
            stack.extend(reversed(ready))

    for i in range(len(rows)):
        if not done[i] and pending[i] == 0:
            release(i)
    # What is still waiting hangs below a loop in the data: break each loop at its earliest row.
    for i in range(len(rows)):
        while not done[i]:
            path: list[int] = []
            on_path: set[int] = set()
            j = i
            while j not in on_path:
                on_path.add(j)
                path.append(j)
                j = next(index_of[p] for p in parents[j] if not done[index_of[p]])
            first = min(path[path.index(j):])
            relink.append(str(ids[first]))
            release(first)
    return ParentOrder(tuple(out), tuple(relink))
