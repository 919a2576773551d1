"""The table graph of a selection: one edge per lookup target, cycles and required cycles.

A lookup on table ``T`` with target ``U`` is an edge ``T → U`` ("rows of T reference rows of U", so U is
written first). A polymorphic lookup (owner, customer, regarding, objectid, ...) stays *one* lookup with
an edge per selected target. Targets outside the selection are kept apart (``GraphLookup.outside``)
for the outside-selection policy. Everything is sorted, so the graph does not depend on the order in
which tables, lookups or targets were given.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from seeder.errors import PlanError, UsageError
from seeder.model import Schema

__all__ = [
    "Edge",
    "GraphLookup",
    "TableGraph",
    "find_required_cycles",
    "strongly_connected",
    "table_graph",
]


@dataclass(frozen=True)
class Edge:
    """One (lookup, target) pair: rows of ``table`` reference rows of ``target`` through ``column``.

    ``deferrable`` is False for required lookups and for lookups that cannot be updated (create-only):
    those must be set when the row is created.
    """

    table: str
    column: str
    target: str
    required: bool
    deferrable: bool = True


@dataclass(frozen=True)
class GraphLookup:
    """One lookup of a selected table: selected targets (``targets``) and the others (``outside``).

    ``create_only`` lookups cannot be set by a later update (so they are never deferred);
    ``update_only`` ones cannot be set on create (so they are always written by a link step).
    """

    table: str
    column: str
    required: bool
    targets: tuple[str, ...]
    outside: tuple[str, ...] = ()
    is_owner: bool = False
    create_only: bool = False
    update_only: bool = False

    @property
    def deferrable(self) -> bool:
        return not self.required and not self.create_only

    def edges(self) -> Iterator[Edge]:
        for target in self.targets:
            yield Edge(self.table, self.column, target, self.required, self.deferrable)


@dataclass(frozen=True)
class TableGraph:
    """The selected tables and their lookups, sorted by (table, column)."""

    tables: tuple[str, ...]
    lookups: tuple[GraphLookup, ...]
    _by_table: dict[str, tuple[GraphLookup, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[GraphLookup]] = {t: [] for t in self.tables}
        for lk in self.lookups:
            grouped.setdefault(lk.table, []).append(lk)
        self._by_table.update({t: tuple(v) for t, v in grouped.items()})

    def lookups_of(self, table: str) -> tuple[GraphLookup, ...]:
        return self._by_table.get(table, ())

    def edges(self) -> Iterator[Edge]:
        for lk in self.lookups:
            yield from lk.edges()

    def to_networkx(self) -> Any:
        """A ``networkx.MultiDiGraph``: nodes are tables, one keyed edge per (lookup, target)."""
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_nodes_from(self.tables)
        for e in self.edges():
            g.add_edge(e.table, e.target, key=e.column, column=e.column, required=e.required)
        return g


def table_graph(schema: Schema, tables: Sequence[str] | None = None) -> TableGraph:
    """The graph of ``tables`` (all tables of ``schema`` when ``None``); unknown names are a UsageError.

    Intersect tables of N:N relationships are left out: their rows are associations, not upserts.
    Read-only lookups (valid neither for create nor for update, such as ``createdby``) are left out:
    a restore never writes them, so they order nothing.
    """
    if tables is None:
        selected = {t.name for t in schema.tables}
    else:
        selected = set(tables)
        unknown = sorted(n for n in selected if n not in schema)
        if unknown:
            raise UsageError(
                f"tables not in the schema: {', '.join(unknown)}",
                hint="check the names (logical names, lower case) against the schema source",
                tables=unknown,
            )
    selected = {n for n in selected if not schema.table(n).is_intersect}
    lookups: list[GraphLookup] = []
    for name in sorted(selected):
        table = schema.table(name)
        seen: set[str] = set()
        for lk in sorted(table.lookups, key=lambda x: x.column):
            if lk.column in seen:
                continue
            seen.add(lk.column)
            targets = sorted(set(lk.targets))
            column = table.column(lk.column)
            creatable = column is None or column.valid_for_create
            updatable = column is None or column.valid_for_update
            if not creatable and not updatable:
                continue
            lookups.append(
                GraphLookup(
                    table=name,
                    column=lk.column,
                    required=lk.required,
                    targets=tuple(t for t in targets if t in selected),
                    outside=tuple(t for t in targets if t not in selected),
                    is_owner=column is not None and column.type == "Owner",
                    create_only=not updatable,
                    update_only=not creatable,
                )
            )
    return TableGraph(tables=tuple(sorted(selected)), lookups=tuple(lookups))


def strongly_connected(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[tuple[str, ...]]:
    """Strongly connected groups of two or more nodes, each sorted, sorted by first member.

    Self-loops are ignored (a table referencing only itself is not a multi-table cycle).
    """
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((a, b) for a, b in edges if a != b)
    groups = [tuple(sorted(c)) for c in nx.strongly_connected_components(g) if len(c) > 1]
    return sorted(groups)


def _walk_cycle(start: str, succ: dict[str, list[str]], members: set[str]) -> list[str]:
    """Follow the smallest successor inside ``members`` from ``start`` until a table repeats."""
    path: list[str] = []
    index: dict[str, int] = {}
    node = start
    while node not in index:
        index[node] = len(path)
        path.append(node)
        node = min(n for n in succ[node] if n in members)
    return path[index[node]:]


def find_required_cycles(graph: TableGraph) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every group of tables tied by lookups that cannot be deferred, as (cycle, lookups along it).

    Those are required lookups, and create-only ones (they cannot be set by a later update). A
    required self-reference counts: no first row could ever be written. Empty when none exist.
    """
    required = [e for e in graph.edges() if not e.deferrable]
    succ: dict[str, list[str]] = {}
    for e in required:
        succ.setdefault(e.table, []).append(e.target)
    found: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    groups = strongly_connected(graph.tables, ((e.table, e.target) for e in required))
    loops = sorted({e.table for e in required if e.table == e.target and e.required})
    in_groups = {t for g in groups for t in g}
    for group in groups:
        cycle = _walk_cycle(group[0], succ, set(group))
        found.append((tuple(cycle), _cycle_lookups(cycle, required)))
    for table in loops:
        if table not in in_groups:
            found.append(((table,), _cycle_lookups([table], required)))
    return sorted(found)


def _cycle_lookups(cycle: list[str], required: list[Edge]) -> tuple[str, ...]:
    out: list[str] = []
    for i, table in enumerate(cycle):
        nxt = cycle[(i + 1) % len(cycle)]
        cols = sorted(e.column for e in required if e.table == table and e.target == nxt)
        out.extend(f"{table}.{c} → {nxt}" for c in cols)
    return tuple(out)


def raise_for_required_cycles(graph: TableGraph) -> None:
    """PlanError naming every cycle of required lookups (and the lookups), if there is one."""
    found = find_required_cycles(graph)
    if not found:
        return
    parts = []
    for cycle, lookups in found:
        ring = " → ".join((*cycle, cycle[0]))
        parts.append(f"{ring} ({', '.join(lookups)})")
    raise PlanError(
        "no order can write these tables: a cycle of required (or create-only) lookups: "
        + "; ".join(parts),
        hint="leave one of these tables out of the selection (--outside match), "
        "or make one of the lookups optional in the source environment",
        cycles=[list(c) for c, _ in found],
        lookups=[list(lk) for _, lk in found],
    )
