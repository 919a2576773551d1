"""Helpers shared by the end-to-end tests: connect to an emulator, export, restore, count rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from seeder.dataverse import AuthConfig, Environment
from seeder.emulator import EmulatorConfig
from seeder.export import ExportOptions, ExportReport, export
from seeder.model import Record
from seeder.records import lookup_of
from seeder.snapshot import Snapshot, SnapshotWriter

SOURCE = EmulatorConfig(demo=True, records=300, seed=3)
"""The demo organisation the tests export."""
EMPTY_SANDBOX = EmulatorConfig(demo=True, records=0, seed=3)
"""The same organisation's reference data (users, business units, currencies) and no business rows."""
REFERENCE = frozenset({"organization", "businessunit", "systemuser", "team", "transactioncurrency",
                       "teammembership"})
"""Reference data (and the N:N between users and teams) that a sandbox already holds and restores match."""


@contextmanager
def connected(url: str) -> Iterator[Environment]:
    with Environment.connect(url, AuthConfig(method="none")) as env:
        yield env


def export_to(url: str, out: Path, options: ExportOptions = ExportOptions()) -> ExportReport:
    with connected(url) as env:
        return export(env, out, options)


def ids_of(snapshot: Snapshot, table: str) -> list[str]:
    pk = snapshot.schema.table(table).primary_id
    return [str(r[pk]) for r in snapshot.resolved_records(table)]


def target_ids(env: Environment, table: str) -> list[str]:
    pk = env.schema([table]).table(table).primary_id
    return [str(r[pk]).lower() for r in env.iter_records(table, select=[pk])]


def emulator_stats(url: str) -> dict[str, Any]:
    """The emulator's own counters (requests, records written...)."""
    with httpx.Client(timeout=30) as client:
        data: dict[str, Any] = client.get(url + "/_emulator/stats").json()
        return data


def rewrite_snapshot(src: Path, dst: Path, edit: Callable[[str, Record], Record | None]) -> None:
    """Copy the snapshot at ``src`` to ``dst`` through :class:`SnapshotWriter`, passing every record through
    ``edit(table, record)`` (``None`` drops the record)."""
    snap = Snapshot.open(src)
    with SnapshotWriter(dst, schema=snap.schema, source=None) as writer:
        for table in snap.tables:
            rows = (edit(table, dict(r)) for r in snap.resolved_records(table))
            writer.write_table(table, (r for r in rows if r is not None))


def dangling_lookups(env: Environment, tables: Iterable[str]) -> list[str]:
    """Lookups of the target's rows in ``tables`` that point at a row the target does not have."""
    schema = env.schema()
    present: dict[str, set[str]] = {}
    out: list[str] = []
    for table in tables:
        definition = schema.table(table)
        for record in env.iter_records(table):
            for lookup in definition.lookups:
                ref = lookup_of(record, lookup.column)
                if ref is None:
                    continue
                target = ref[0] or lookup.to[0].table
                if target not in present:
                    present[target] = set(target_ids(env, target))
                if ref[1].lower() not in present[target]:
                    out.append(f"{table}.{lookup.column} -> {target}({ref[1]})")
    return out
