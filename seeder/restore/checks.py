"""The two comparisons of a restore with its target: the dry run's forecast (what would be created, updated,
deleted) and the verification after writing (the target's rows against the snapshot's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from seeder.dataverse import Environment
from seeder.model import Record, Schema, Table
from seeder.records import RowComparer, clean_record
from seeder.restore.report import RestoreReport
from seeder.restore.selection import Selection

if TYPE_CHECKING:
    from seeder.restore.run import RestoreOptions

__all__ = ["READ_PAGE", "dry_run", "verify"]

READ_PAGE = 1000
"""Rows per read of the target: the client's peak memory follows the page size, the speed hardly does."""


def dry_run(env: Environment, schema: Schema, source: Callable[[str], Iterator[Record]], selection: Selection,
            options: RestoreOptions, report: RestoreReport, remap: Callable[[Table, Record], Record]) -> None:
    """Forecast per table what a restore would create, update, leave alone and (mirror) delete; the
    snapshot's reference lookups are mapped to the target first, as the restore would write them."""
    with RowComparer() as comparer:
        for table_name in selection.tables:
            table = schema.table(table_name)
            rows = (remap(table, r) for r in selection.rows(source, schema, table_name))
            whole = selection.ids.get(table_name) is None
            target = (clean_record(r) for r in env.iter_records(table_name, page_size=READ_PAGE))
            cmp = comparer.compare(table, target, rows, only_left_ids=False)
            result = report.table(table_name)
            result.would_create = cmp.added
            result.would_update = cmp.changed
            result.unchanged = cmp.unchanged
            if options.mode == "mirror" and whole:
                result.would_delete = cmp.deleted
            if options.mode == "create-only":
                result.would_update = 0
            if options.mode == "update-only":
                result.would_create = 0


def verify(env: Environment, schema: Schema, source: Callable[[str], Iterator[Record]], selection: Selection,
            report: RestoreReport, remap: Callable[[Table, Record], Record]) -> None:
    """Compare every restored table of the target with the snapshot on the values a restore carries."""
    with RowComparer() as comparer:
        for table_name in selection.tables:
            table = schema.table(table_name)
            snapshot_rows = (remap(table, r) for r in selection.rows(source, schema, table_name))
            target_rows = (clean_record(r) for r in env.iter_records(table_name, page_size=READ_PAGE))
            cmp = comparer.compare(table, snapshot_rows, target_rows, only_left_ids=True)
            result = report.table(table_name)
            if cmp.deleted == 0 and cmp.changed == 0:
                result.verified = "match"
            else:
                result.verified = f"{cmp.deleted} missing, {cmp.changed} different"
