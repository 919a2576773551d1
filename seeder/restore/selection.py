"""Which rows a restore writes: whole tables, rows chosen by id or by filter, their parents and children.

Rows chosen with ``--ids`` or ``--filter`` bring every row their lookups point at (transitively, so
nothing dangles) and, with ``--with-children``, the rows that point at them (one level down, plus those
rows' own parents). Tables named with ``--tables`` are restored whole. The snapshot is scanned per
round, so only the chosen ids are held in memory, never the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from seeder.errors import UsageError
from seeder.model import Record, Schema
from seeder.odata import evaluate, parse_filter
from seeder.records import lookup_of

__all__ = ["Selection", "select_rows"]

RowSource = Callable[[str], Iterable[Record]]


@dataclass
class Selection:
    """The tables to write and, per table, the ids to write (``None``: every row of the table)."""

    tables: list[str]
    ids: dict[str, set[str] | None] = field(default_factory=dict)
    parents_added: dict[str, int] = field(default_factory=dict)
    children_added: dict[str, int] = field(default_factory=dict)

    def wants(self, table: str, record_id: str) -> bool:
        chosen = self.ids.get(table)
        return chosen is None or record_id.lower() in chosen

    def rows(self, source: RowSource, schema: Schema, table: str) -> Iterator[Record]:
        pk = schema.table(table).primary_id
        chosen = self.ids.get(table)
        for record in source(table):
            if chosen is None or str(record.get(pk, "")).lower() in chosen:
                yield record

    def to_dict(self) -> dict[str, Any]:
        return {
            "tables": self.tables,
            "rows": {t: (len(v) if v is not None else "all") for t, v in sorted(self.ids.items())},
            "parents_added": dict(sorted(self.parents_added.items())),
            "children_added": dict(sorted(self.children_added.items())),
        }


def select_rows(
    schema: Schema,
    source: RowSource,
    available: Sequence[str],
    *,
    tables: Sequence[str] | None = None,
    ids: Mapping[str, Sequence[str]] | None = None,
    filters: Mapping[str, str] | None = None,
    with_children: bool = False,
    exclude: Iterable[str] = (),
) -> Selection:
    """Work out the rows to restore from the snapshot tables ``available``."""
    excluded = set(exclude)
    for name in list(tables or []) + list(ids or {}) + list(filters or {}):
        if name not in available:
            raise UsageError(f"table {name!r} is not in the snapshot", hint=f"it has: {', '.join(available)}")
    if not ids and not filters:
        chosen_tables = [t for t in (tables or available) if t not in excluded]
        return Selection(tables=sorted(chosen_tables), ids={t: None for t in chosen_tables})
    whole = set(tables or [])
    picked: dict[str, set[str]] = defaultdict(set)
    for table, values in (ids or {}).items():
        picked[table].update(v.lower() for v in values)
    for table, text in (filters or {}).items():
        node = parse_filter(text)
        pk = schema.table(table).primary_id
        picked[table].update(str(r.get(pk, "")).lower() for r in source(table) if evaluate(node, r))
    base = {t: len(v) for t, v in picked.items()}
    _close_over_parents(schema, source, picked, whole, available, excluded)
    children: dict[str, int] = {}
    if with_children:
        before = {t: len(v) for t, v in picked.items()}
        _add_children(schema, source, picked, available, excluded)
        children = {t: len(v) - before.get(t, 0) for t, v in picked.items() if len(v) > before.get(t, 0)}
        _close_over_parents(schema, source, picked, whole, available, excluded)
    parents = {t: len(v) - base.get(t, 0) - children.get(t, 0) for t, v in picked.items()}
    selection = Selection(tables=sorted((set(picked) | whole) - excluded))
    for table in selection.tables:
        selection.ids[table] = None if table in whole else picked[table]
    selection.parents_added = {t: n for t, n in sorted(parents.items()) if n > 0 and t not in excluded}
    selection.children_added = dict(sorted(children.items()))
    return selection


def _close_over_parents(schema: Schema, source: RowSource, picked: dict[str, set[str]], whole: set[str],
                        available: Sequence[str], excluded: set[str]) -> None:
    """Add the rows that chosen rows point at, until nothing new turns up."""
    frontier = {t: set(v) for t, v in picked.items()}
    while frontier:
        wanted: dict[str, set[str]] = defaultdict(set)
        for table_name, new_ids in frontier.items():
            if not new_ids or table_name in excluded:
                continue
            table = schema.table(table_name)
            for record in source(table_name):
                if str(record.get(table.primary_id, "")).lower() not in new_ids:
                    continue
                for lookup in table.lookups:
                    ref = lookup_of(record, lookup.column)
                    if ref is None:
                        continue
                    target = ref[0] or (lookup.to[0].table if lookup.to else "")
                    keep = target in available and target not in whole and target not in excluded
                    if keep and ref[1].lower() not in picked[target]:
                        wanted[target].add(ref[1].lower())
        frontier = {}
        for target, new in wanted.items():
            fresh = new - picked[target]
            if fresh:
                picked[target] |= fresh
                frontier[target] = fresh


def _add_children(schema: Schema, source: RowSource, picked: dict[str, set[str]], available: Sequence[str],
                  excluded: set[str]) -> None:
    """Add rows (one level down) whose lookups point at a chosen row."""
    parents = {t: set(v) for t, v in picked.items()}
    for table_name in available:
        if table_name in excluded or table_name not in schema:
            continue
        table = schema.table(table_name)
        relevant = [lk for lk in table.lookups if any(t in parents for t in lk.targets)]
        if not relevant:
            continue
        for record in source(table_name):
            for lookup in relevant:
                ref = lookup_of(record, lookup.column)
                if ref is None:
                    continue
                target = ref[0] or lookup.to[0].table
                if ref[1].lower() in parents.get(target, set()):
                    picked[table_name].add(str(record.get(table.primary_id, "")).lower())
                    break
