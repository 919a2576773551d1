"""Breaking cycles: which nullable lookups to defer so that the rest can be written in order.

Inside one strongly connected group of tables, an order of the tables decides the deferrals: a lookup
of table ``T`` pointing at a table written after ``T`` is deferred. The cost of an order is the number
of distinct lookups it defers (a polymorphic lookup deferred for two targets costs one); required
and create-only lookups can never be deferred (here both count as ``required``); update-only lookups
are always written by a link step and order nothing.

* Groups of up to :data:`EXACT_LIMIT` tables are solved exactly (dynamic programming over subsets):
  the fewest deferred lookups; ties go to the set whose sorted ``(table, column)`` list is smallest.
* Larger groups use a greedy order (write next the table that defers the fewest lookups, ties by
  name), then every deferred (lookup, target) is tried back in name order and kept un-deferred when that
  leaves no cycle. The result is deterministic and minimal: no single deferral can be dropped.

Callers must first rule out cycles of required lookups (:func:`seeder.plan.graph.find_required_cycles`).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from seeder.plan.graph import GraphLookup

__all__ = ["EXACT_LIMIT", "choose_deferrals"]

EXACT_LIMIT = 10
"""Largest group (in tables) solved exactly."""

DeferredEdge = tuple[str, str, str]
"""(table, column, target)."""


def choose_deferrals(group: Sequence[str], lookups: Sequence[GraphLookup]) -> set[DeferredEdge]:
    """The (table, column, target) edges to defer so that ``group`` has no cycle left.

    ``group`` is one strongly connected set of tables; ``lookups`` are the lookups of its tables (edges
    leaving the group and self-references are ignored here).
    """
    members = sorted(group)
    inside = set(members)
    local = [
        GraphLookup(
            lk.table,
            lk.column,
            not lk.deferrable,
            tuple(t for t in lk.targets if t in inside and t != lk.table),
        )
        for lk in lookups
        if lk.table in inside and not lk.update_only
    ]
    local = [lk for lk in local if lk.targets]
    order = _exact_order(members, local) if len(members) <= EXACT_LIMIT else _greedy_order(members, local)
    position = {t: i for i, t in enumerate(order)}
    deferred = {
        (lk.table, lk.column, t)
        for lk in local
        for t in lk.targets
        if position[t] > position[lk.table]
    }
    return _prune(members, local, position, deferred)


def _exact_order(members: list[str], lookups: list[GraphLookup]) -> list[str]:
    """An order deferring the fewest lookups; among those, the smallest sorted list of them.

    The tie-break is exact: for sets of equal size, adding the same disjoint set (the deferrals of the
    tables placed later) keeps their order, so comparing partial solutions per subset is sound.
    """
    n = len(members)
    bit = {t: 1 << i for i, t in enumerate(members)}
    required_mask = [0] * n
    nullable: list[list[tuple[int, tuple[str, str]]]] = [[] for _ in range(n)]
    for lk in lookups:
        i = members.index(lk.table)
        mask = 0
        for t in lk.targets:
            mask |= bit[t]
        if lk.required:
            required_mask[i] |= mask
        else:
            nullable[i].append((mask, (lk.table, lk.column)))
    full = (1 << n) - 1
    best: list[tuple[int, tuple[tuple[str, str], ...]] | None] = [None] * (full + 1)
    choice = [-1] * (full + 1)
    best[0] = (0, ())
    for placed in range(full + 1):
        here_best = best[placed]
        if here_best is None:
            continue
        rest = full & ~placed
        for i in range(n):
            here = 1 << i
            if not rest & here:
                continue
            later = rest & ~here
            if required_mask[i] & later:
                continue
            added = [key for mask, key in nullable[i] if mask & later]
            value = (here_best[0] + len(added), tuple(sorted(here_best[1] + tuple(added))))
            nxt = placed | here
            current = best[nxt]
            if current is None or value < current:
                best[nxt] = value
                choice[nxt] = i
    if best[full] is None:  # only when a required cycle was not ruled out by the caller
        raise ValueError("required cycle inside group")
    order: list[str] = []
    placed = full
    while placed:
        i = choice[placed]
        order.append(members[i])
        placed &= ~(1 << i)
    order.reverse()
    return order


def _greedy_order(members: list[str], lookups: list[GraphLookup]) -> list[str]:
    """Write next the table whose still-unwritten targets cost the fewest lookups (ties by name)."""
    remaining = [len(lk.targets) for lk in lookups]
    dependents: dict[str, list[int]] = {t: [] for t in members}
    cost = dict.fromkeys(members, 0)
    blocked = dict.fromkeys(members, 0)
    for index, lk in enumerate(lookups):
        for t in lk.targets:
            dependents[t].append(index)
        if lk.required:
            blocked[lk.table] += 1
        else:
            cost[lk.table] += 1
    heap = [(cost[t], t) for t in members if blocked[t] == 0]
    heapq.heapify(heap)
    placed: set[str] = set()
    order: list[str] = []
    while heap:
        c, table = heapq.heappop(heap)
        if table in placed or c != cost[table] or blocked[table]:
            continue
        placed.add(table)
        order.append(table)
        for index in dependents[table]:
            lk = lookups[index]
            remaining[index] -= 1
            if remaining[index] or lk.table in placed:
                continue
            if lk.required:
                blocked[lk.table] -= 1
                if blocked[lk.table] == 0:
                    heapq.heappush(heap, (cost[lk.table], lk.table))
            else:
                cost[lk.table] -= 1
                if blocked[lk.table] == 0:
                    heapq.heappush(heap, (cost[lk.table], lk.table))
    if len(order) != len(members):  # only when a required cycle was not ruled out by the caller
        raise ValueError("required cycle inside group")
    return order


def _prune(
    members: list[str],
    lookups: list[GraphLookup],
    position: dict[str, int],
    deferred: set[DeferredEdge],
) -> set[DeferredEdge]:
    """Try each deferred edge back (name order); keep it when it closes no cycle.

    ``position`` is a topological order of the kept edges (targets first); it is maintained with the
    Pearce-Kelly bounded search, so each attempt only visits tables between the two ends.
    """
    pos = dict(position)
    succ: dict[str, dict[str, int]] = {t: {} for t in members}  # written-before → written-after
    pred: dict[str, dict[str, int]] = {t: {} for t in members}
    for lk in lookups:
        for t in lk.targets:
            if (lk.table, lk.column, t) not in deferred:
                _add(succ, pred, t, lk.table)
    kept = set(deferred)
    for edge in sorted(deferred):
        table, _column, target = edge
        if pos[target] > pos[table]:
            lower, upper = pos[table], pos[target]
            forward = _reach(table, succ, pos, lower, upper)
            if target in forward:
                continue
            backward = _reach(target, pred, pos, lower, upper)
            moved = sorted(backward, key=pos.__getitem__) + sorted(forward, key=pos.__getitem__)
            slots = sorted(pos[t] for t in moved)
            for t, slot in zip(moved, slots, strict=True):
                pos[t] = slot
        _add(succ, pred, target, table)
        kept.discard(edge)
    return kept


def _add(succ: dict[str, dict[str, int]], pred: dict[str, dict[str, int]], before: str, after: str) -> None:
    succ[before][after] = succ[before].get(after, 0) + 1
    pred[after][before] = pred[after].get(before, 0) + 1


def _reach(start: str, adj: dict[str, dict[str, int]], pos: dict[str, int], low: int, high: int) -> set[str]:
    """Tables reachable from ``start`` through ``adj`` without leaving positions ``low..high``."""
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        for nxt in adj[node]:
            if nxt not in seen and low <= pos[nxt] <= high:
                seen.add(nxt)
                stack.append(nxt)
    return seen
