"""Describe what a path holds without touching any environment: the components of a snapshot, an
unpacked solution folder or a solution zip, and the schema (hence the plan) of a snapshot, a CMT schema
or a solution. The CLI's ``components`` and ``plan`` commands are skins over these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seeder.components import ComponentSet
from seeder.errors import UsageError
from seeder.metadata import schema_from_cmt, schema_from_solution
from seeder.model import COMPONENT_TABLES, Schema
from seeder.plan import Plan, build_plan
from seeder.snapshot import Snapshot

__all__ = ["components_of", "is_snapshot", "plan_for", "schema_of"]



def is_snapshot(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.json").is_file()


def components_of(path: Path, *, key: bytes | None = None) -> ComponentSet:
    """The Power Platform components held by a snapshot, an unpacked solution or a solution zip."""
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if is_snapshot(path):
        snap = Snapshot.open(path, key=key)
        rows = {t: list(snap.resolved_records(t)) for t in COMPONENT_TABLES if t in snap.tables}
        return ComponentSet.from_rows(rows)
    return ComponentSet.from_solution(path)


def schema_of(*, snapshot: Path | None = None, cmt_schema: Path | None = None, solution: Path | None = None,
              key: bytes | None = None) -> Schema:
    """The schema described by exactly one of the given sources."""
    given = [p for p in (snapshot, cmt_schema, solution) if p is not None]
    if len(given) != 1:
        raise UsageError("give exactly one schema source", hint="--snapshot DIR, --cmt-schema FILE or --solution PATH")
    if snapshot is not None:
        return Snapshot.open(snapshot, key=key).schema
    if cmt_schema is not None:
        return schema_from_cmt(cmt_schema)
    assert solution is not None
    return schema_from_solution(solution)


def plan_for(schema: Schema, tables: Sequence[str] | None = None, *, outside: str = "match") -> Plan:
    """The restore plan of ``tables`` (all tables of the schema when ``None``)."""
    if tables:
        unknown = sorted(set(tables) - set(schema.table_names))
        if unknown:
            raise UsageError(f"unknown table(s): {', '.join(unknown)}",
                             hint=f"the schema has {len(schema.tables)} tables; use logical names")
    return build_plan(schema, list(tables) if tables else None, outside=outside)
