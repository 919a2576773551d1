"""Compare two snapshots, or a snapshot and an environment, table by table and (optionally) row by row.

Rows are compared on the values a restore carries (:func:`seeder.records.comparable`): writable,
non-system columns, lookups by id, through :class:`seeder.records.RowComparer`, which keeps memory flat.
Added means only in B, deleted only in A, changed in both with different values. N:N intersect rows are
matched by the pair they link, since their own ids differ between environments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from seeder.dataverse import Environment
from seeder.errors import UsageError
from seeder.model import REFERENCE_TABLES, Record, Schema
from seeder.records import RowComparer, RowComparison, clean_record
from seeder.snapshot import Snapshot

__all__ = ["DiffReport", "TableDiff", "diff"]

Side = Snapshot | Environment
Progress = Callable[[str, int], None]


TableDiff = RowComparison


@dataclass
class DiffReport:
    a: str
    b: str
    tables: dict[str, TableDiff]
    records: bool = False
    skipped: list[str] = field(default_factory=list)
    """Reference tables left out of a snapshot ↔ environment comparison (name them to compare them)."""

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "equal": self.equal, "skipped": self.skipped,
                "tables": {name: t.to_dict(self.records) for name, t in sorted(self.tables.items())}}

    def to_text(self) -> str:
        lines = [f"A: {self.a}", f"B: {self.b}"]
        for name, t in sorted(self.tables.items()):
            mark = "=" if t.equal else "≠"
            lines.append(f"  {mark} {name:<32} +{t.added} ~{t.changed} -{t.deleted} ({t.unchanged} equal)")
            if self.records:
                lines += [f"      + {i}" for i in t.added_ids] + [f"      ~ {i}" for i in t.changed_ids]
                lines += [f"      - {i}" for i in t.deleted_ids]
        if self.skipped:
            lines.append(f"  (not compared: {', '.join(self.skipped)} — each environment has its own)")
        lines.append("equal" if self.equal else "different")
        return "\n".join(lines)


def _describe(side: Side) -> str:
    if isinstance(side, Snapshot):
        return str(side.path)
    return side.url


def _schema(side: Side, tables: Sequence[str] | None) -> Schema:
    if isinstance(side, Snapshot):
        return side.schema
    return side.schema(list(tables) if tables else None)


def _records(side: Side, table: str) -> Iterator[Record]:
    if isinstance(side, Snapshot):
        if table not in side.tables:
            return iter(())
        return side.resolved_records(table)
    return (clean_record(r) for r in side.iter_records(table))


def diff(a: Side, b: Side, *, tables: Sequence[str] | None = None, records: bool = False,
         progress: Progress | None = None) -> DiffReport:
    """What changed from ``a`` to ``b``: added (only in b), changed, deleted (only in a), per table."""
    schema_a = _schema(a, tables)
    schema_b = schema_a if isinstance(a, Snapshot) or not isinstance(b, Snapshot) else b.schema
    if isinstance(a, Snapshot):
        names = list(a.tables)
    elif isinstance(b, Snapshot):
        names = list(b.tables)
        schema_a = b.schema
    else:
        names = list(schema_a.table_names)
    if tables:
        unknown = sorted(set(tables) - set(names))
        if unknown:
            raise UsageError(f"table(s) not in the snapshot: {', '.join(unknown)}")
        names = [n for n in names if n in set(tables)]
    if isinstance(b, Snapshot):
        names = sorted(set(names) | set(b.tables)) if not tables else names
    if not tables and not (isinstance(a, Snapshot) and isinstance(b, Snapshot)):
        # an environment's users, teams, business units and currencies are its own: skip them (and the N:N
        # tables that link them) unless asked for by name
        linked = {r.intersect_table for r in schema_a.many_to_many if {r.table1, r.table2} & REFERENCE_TABLES}
        report_skipped = sorted(set(names) & (REFERENCE_TABLES | linked))
        names = [n for n in names if n not in REFERENCE_TABLES and n not in linked]
    else:
        report_skipped = []
    report = DiffReport(a=_describe(a), b=_describe(b), tables={}, records=records, skipped=report_skipped)
    with RowComparer() as comparer:
        for name in sorted(names):
            table = schema_a.get(name) or schema_b.get(name)
            if table is None:
                continue
            pair = next(((r.column1, r.column2) for r in schema_a.many_to_many if r.intersect_table == name), None)
            result = comparer.compare(table, _records(a, name), _records(b, name), keep_ids=records,
                                      key_columns=pair)
            report.tables[name] = result
            if progress:
                progress(name, result.unchanged)
    return report
