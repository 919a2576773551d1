"""The exporter: stream an environment's tables and Power Platform components into a snapshot.

``export(env, out, options)`` reads every chosen table page by page (``Environment.iter_records``) and
hands the records to a :class:`~seeder.snapshot.SnapshotWriter`, so memory stays flat whatever the size.
A subset file narrows the export to root rows and their referential closure (see :mod:`seeder.subset`
semantics below); ``since`` makes an incremental snapshot from change tracking, recording deletions as
tombstones and reusing the previous snapshot's chunks for tables that did not change.

Subset file (YAML)::

    roots:                      # rows to start from, one filter per table
      account: "startswith(name,'A')"
    children:                   # child paths to follow: rows of TABLE whose COLUMN points at an exported row
      - contact.parentcustomerid
      - annotation.objectid
    parents: all                # "all" (default): every lookup's parent; "required": required lookups only

From the roots the exporter adds every parent the rows point at (transitively), the children the file asks
for, and the N:N links whose two sides were both exported, so a subset restores with no dangling lookup.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

from seeder.components import SHARED_WITH_KEY, ComponentSet, share_keys, unpack_solution
from seeder.dataverse import Environment
from seeder.errors import SeederError, SnapshotError, UsageError
from seeder.model import COMPONENT_TABLES, SERVICE_TABLES, Record, Schema, Table
from seeder.records import clean_record, lookup_of
from seeder.snapshot import Snapshot, SnapshotWriter

__all__ = ["ExportOptions", "ExportReport", "export", "load_subset"]

STATE_FILE = "state/delta_tokens.json"
IN_BATCH = 50
"""Ids per ``Microsoft.Dynamics.CRM.In`` filter when fetching rows of a subset by id."""

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Subset:
    """Root filters, child paths and the parent policy of a subset export."""

    roots: dict[str, str]
    children: tuple[tuple[str, str], ...] = ()
    parents: str = "all"


@dataclass(frozen=True)
class ExportOptions:
    tables: tuple[str, ...] | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    fetchxml: Mapping[str, str] = field(default_factory=dict)
    subset: Subset | None = None
    since: Path | None = None
    key: bytes | None = None
    chunk_rows: int = 50_000
    anomaly_threshold: float = 0.5
    """Warn when an incremental sees more than this fraction of a table deleted or modified."""
    track_changes: bool = True
    """Take change-tracking tokens so a later ``--since`` can be incremental."""
    page_size: int = 1000
    """Rows per read request. The client's peak memory follows the page (a 5,000-row page of a wide
    table costs ~250 MB while parsed, and the heap keeps growing with it); 1,000 reads as fast."""
    solutions: bool = True
    """Export each unmanaged solution (managed and unmanaged zips, and unpacked) into ``components/solutions``."""


@dataclass
class ExportReport:
    path: Path
    source: dict[str, Any]
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    components: dict[str, int] = field(default_factory=dict)
    incremental: bool = False
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.get("rows", 0) for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "source": self.source,
            "incremental": self.incremental,
            "rows": self.rows,
            "tables": dict(sorted(self.tables.items())),
            "components": dict(sorted(self.components.items())),
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
        }


def load_subset(path: Path) -> Subset:
    """Read a subset YAML file; errors name the file and what is wrong."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8-sig"))
    except (OSError, YAMLError) as exc:
        raise UsageError(f"cannot read subset file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("roots"), dict) or not data["roots"]:
        raise UsageError(f"{path}: a subset needs 'roots:' mapping tables to filters",
                         hint="roots:\n  account: \"name eq 'Contoso'\"")
    children: list[tuple[str, str]] = []
    for item in data.get("children") or []:
        table, _, column = str(item).partition(".")
        if not column:
            raise UsageError(f"{path}: child path {item!r} must be TABLE.COLUMN")
        children.append((table, column))
    parents = str(data.get("parents", "all"))
    if parents not in ("all", "required"):
        raise UsageError(f"{path}: parents must be 'all' or 'required', not {parents!r}")
    return Subset(roots={str(k): str(v) for k, v in data["roots"].items()}, children=tuple(children), parents=parents)


def export(env: Environment, out: Path, options: ExportOptions = ExportOptions(),
           progress: Progress | None = None) -> ExportReport:
    """Export ``env`` into a new snapshot at ``out`` and return what was written."""
    started = time.monotonic()
    tick = progress or (lambda _msg, _n: None)
    org = env.org_info()
    schema = env.schema(list(options.tables) if options.tables else None)
    selection = _selection(schema, options)
    if options.since and options.subset is not None:
        raise UsageError("--since and --subset cannot be combined",
                         hint="an incremental records every change of a table; export a subset as a full snapshot")
    previous = Snapshot.open(options.since, key=options.key) if options.since else None
    report = ExportReport(path=out, source={"organization_id": org.organization_id, "name": org.name,
                                            "url": org.url, "environment_type": org.environment_type},
                          incremental=previous is not None)
    tokens: dict[str, str] = {}
    component_rows: dict[str, list[Record]] = defaultdict(list)
    with SnapshotWriter(out, schema=schema, source=org, key=options.key, chunk_rows=options.chunk_rows,
                        parent=options.since) as writer:
        if options.subset is not None:
            _export_subset(env, schema, selection, options.subset, writer, report, tick)
        else:
            old_tokens = _tokens(previous) if previous else {}
            for table in selection:
                t = schema.table(table)
                if previous is not None and table in old_tokens:
                    _export_changes(env, t, previous, old_tokens[table], writer, report, tokens, options)
                else:
                    filtered = table in options.filters or table in options.fetchxml
                    # change tracking cannot filter: a filtered table is read whole (and filtered) every time
                    # component tables are small and carry data kept outside their rows (canvas app shares): they
                    # are read whole every time, never as changes
                    if (options.track_changes and t.change_tracking and not t.is_intersect and not filtered
                            and table not in COMPONENT_TABLES):
                        token = _initial_token(env, t)
                        if token:
                            tokens[table] = token
                    records = _table_records(env, t, options, component_rows, report.warnings)
                    # in an incremental, a table without a change-tracking token is read whole: store it as
                    # a full table, or rows deleted since the parent would survive the overlay
                    rows = writer.write_table(table, _counted(records, table, tick),
                                              delta=False if previous is not None else None)
                    report.tables[table] = {"rows": rows}
        for table in COMPONENT_TABLES:  # small tables: an incremental reads them whole for its inventory
            if table in schema and table in selection and table not in component_rows:
                component_rows[table] = [clean_record(r) for r in env.iter_records(table)]
                for app in component_rows[table] if table == "canvasapp" else ():
                    _record_shares(env, app, report.warnings)
        if component_rows.get("solution") and options.solutions:
            _export_solutions(env, component_rows["solution"], writer, report, tick)
        if component_rows:
            components = ComponentSet.from_rows(component_rows)
            inventory = components.to_dict()
            writer.write_component("inventory.json", orjson.dumps(inventory, option=orjson.OPT_INDENT_2
                                                                  | orjson.OPT_SORT_KEYS))
            report.components.update({k: len(v) for k, v in inventory.items() if isinstance(v, list)})
        writer.write_component(STATE_FILE, orjson.dumps(dict(sorted(tokens.items()))))
    report.seconds = time.monotonic() - started
    return report


def _selection(schema: Schema, options: ExportOptions) -> list[str]:
    names = list(options.tables) if options.tables else [n for n in schema.table_names if n not in SERVICE_TABLES]
    unknown = sorted(set(names) - set(schema.table_names))
    if unknown:
        raise UsageError(f"unknown table(s): {', '.join(unknown)}", hint="use logical names, e.g. account,contact")
    for table in list(options.filters) + list(options.fetchxml):
        if table not in names:
            raise UsageError(f"a filter names table {table!r}, which is not exported")
    # intersect tables of N:N relationships whose two sides are exported come along
    chosen = set(names)
    for rel in schema.many_to_many:
        if rel.table1 in chosen and rel.table2 in chosen and rel.intersect_table in schema:
            chosen.add(rel.intersect_table)
    return sorted(chosen)


def _counted(records: Iterable[Record], table: str, tick: Progress) -> Iterator[Record]:
    n = 0
    for n, record in enumerate(records, 1):
        if n % 5000 == 0:
            tick(table, n)
        yield record
    tick(table, n)


def _table_records(env: Environment, table: Table, options: ExportOptions,
                   component_rows: dict[str, list[Record]], warnings: list[str]) -> Iterator[Record]:
    fetch = options.fetchxml.get(table.name)
    for raw in env.iter_records(table.name, filter=options.filters.get(table.name), fetchxml=fetch,
                                page_size=options.page_size):
        record = clean_record(raw)
        if table.name == "canvasapp":
            _record_shares(env, record, warnings)
        if table.name in COMPONENT_TABLES:
            component_rows[table.name].append(record)
        yield record


def _record_shares(env: Environment, app: Record, warnings: list[str]) -> None:
    """Shares live in the Power Apps API, not in the row: record them so a restore can share the app again."""
    if not app.get("uniquecanvasappid"):
        return
    try:
        app[SHARED_WITH_KEY] = share_keys(env.list_app_permissions(str(app["uniquecanvasappid"])))
    except SeederError as exc:
        warnings.append(f"canvas app {app.get('name')}: shares not recorded: {exc}")


def _initial_token(env: Environment, table: Table) -> str | None:
    """Start change tracking for ``table`` so the next export can be incremental."""
    try:
        # the first change-tracking read returns every row: ask for ids only and drop them page by page;
        # the token it ends with does not depend on the columns asked for
        stream = env.stream_changes(table.name, None, select=[table.primary_id])
        for _event in stream:
            pass
        return stream.delta_token or None
    except SeederError:  # a table that refuses change tracking just stays full-export only
        return None


def _tokens(previous: Snapshot) -> dict[str, str]:
    for name, data in previous.components():
        if name == STATE_FILE:
            loaded = orjson.loads(data)
            return {str(k): str(v) for k, v in loaded.items()}
    return {}


def _export_changes(env: Environment, table: Table, previous: Snapshot, token: str, writer: SnapshotWriter,
                    report: ExportReport, tokens: dict[str, str], options: ExportOptions) -> None:
    stream = env.stream_changes(table.name, token, page_size=options.page_size)
    events = iter(stream)
    first = next(events, None)
    if first is None:  # nothing changed: the parent's chunks serve as they are
        tokens[table.name] = stream.delta_token or token
        writer.reuse_table(table.name, previous)
        report.tables[table.name] = {"rows": 0, "deleted": 0, "reused": previous.resolved_rows(table.name)}
        return
    deleted: list[str] = []

    def changed() -> Iterator[Record]:  # rows stream to the writer; only deleted ids are kept
        for kind, item in chain([first], events):
            if kind == "delete":
                deleted.append(str(item))
            else:
                yield clean_record(item)

    rows = writer.write_table(table.name, changed())
    tokens[table.name] = stream.delta_token or token
    writer.write_tombstones(table.name, deleted)
    report.tables[table.name] = {"rows": rows, "deleted": len(deleted)}
    before = previous.resolved_rows(table.name) or 0
    touched = rows + len(deleted)
    if before and touched / before > options.anomaly_threshold:
        report.warnings.append(
            f"{table.name}: {len(deleted)} deleted and {rows} changed of {before} rows since the "
            f"previous snapshot (more than {options.anomaly_threshold:.0%}); check the source before trusting it"
        )


SYSTEM_SOLUTIONS = frozenset({"default", "active", "basic", "crmtopicsolution", "system"})


def _export_solutions(env: Environment, solutions: list[Record], writer: SnapshotWriter, report: ExportReport,
                      tick: Progress) -> None:
    """ExportSolution for each visible unmanaged solution: both zips, and the pac unpack layout."""
    import base64

    names = sorted(str(s.get("uniquename")) for s in solutions
                   if s.get("uniquename") and not s.get("ismanaged") and s.get("isvisible", True) is not False
                   and str(s.get("uniquename")).lower() not in SYSTEM_SOLUTIONS)
    for name in names:
        for managed in (False, True):
            suffix = "_managed" if managed else ""
            try:
                answer = env.action("ExportSolution", {"SolutionName": name, "Managed": managed})
                data = base64.b64decode(str(answer.get("ExportSolutionFile", "")), validate=True)
            except (SeederError, ValueError) as exc:
                report.warnings.append(f"solution {name}{suffix}: ExportSolution failed: {exc}")
                continue
            writer.write_component(f"solutions/{name}{suffix}.zip", data)
            if not managed:
                for relpath, content in unpack_solution(data):
                    writer.write_component(f"solutions/{name}/{relpath}", content)
            tick(f"solution {name}{suffix}", len(data))
        report.components["solutions_exported"] = report.components.get("solutions_exported", 0) + 1


# -- subsets ------------------------------------------------------------------------------------------


def _fetch_by_ids(env: Environment, table: Table, ids: Sequence[str]) -> Iterator[Record]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), IN_BATCH):
        chunk = ordered[start:start + IN_BATCH]
        values = ",".join(f"'{i}'" for i in chunk)
        flt = f"Microsoft.Dynamics.CRM.In(PropertyName='{table.primary_id}',PropertyValues=[{values}])"
        yield from env.iter_records(table.name, filter=flt)


def _export_subset(env: Environment, schema: Schema, selection: list[str], subset: Subset,
                   writer: SnapshotWriter, report: ExportReport, tick: Progress) -> None:
    """Collect the referential closure of the subset's roots, then write each table once."""
    for table in subset.roots:
        if table not in schema:
            raise UsageError(f"subset root table {table!r} is not in the schema")
    chosen = set(selection)
    rows: dict[str, dict[str, Record]] = defaultdict(dict)
    pending: dict[str, set[str]] = defaultdict(set)

    def take(table: Table, record: Record) -> None:
        rid = str(record.get(table.primary_id, "")).lower()
        if not rid or rid in rows[table.name]:
            return
        rows[table.name][rid] = record
        for lookup in table.lookups:
            if subset.parents == "required" and not lookup.required:
                continue
            ref = lookup_of(record, lookup.column)
            if ref is None:
                continue
            target = ref[0] or (lookup.to[0].table if lookup.to else "")
            if target in schema and target in chosen and ref[1].lower() not in rows[target]:
                pending[target].add(ref[1].lower())

    for table_name, flt in sorted(subset.roots.items()):
        t = schema.table(table_name)
        for record in env.iter_records(table_name, filter=flt):
            take(t, clean_record(record))
    while True:
        progressed = False
        for table_name in sorted(pending):
            ids = sorted(pending.pop(table_name) - set(rows[table_name]))
            if ids:
                progressed = True
                t = schema.table(table_name)
                for record in _fetch_by_ids(env, t, ids):
                    take(t, clean_record(record))
        for child_table, column in subset.children:
            if child_table not in schema:
                raise UsageError(f"subset child path {child_table}.{column}: unknown table")
            ct = schema.table(child_table)
            lookup = ct.lookup(column)
            if lookup is None:
                raise UsageError(f"subset child path {child_table}.{column}: not a lookup column")
            for target in lookup.targets:
                parent_ids = sorted(rows.get(target, {}))
                for start in range(0, len(parent_ids), IN_BATCH):
                    chunk = parent_ids[start:start + IN_BATCH]
                    values = ",".join(f"'{i}'" for i in chunk)
                    flt = f"Microsoft.Dynamics.CRM.In(PropertyName='_{column}_value',PropertyValues=[{values}])"
                    for record in env.iter_records(child_table, filter=flt):
                        before = len(rows[child_table])
                        take(ct, clean_record(record))
                        progressed = progressed or len(rows[child_table]) > before
        if not progressed and not pending:
            break
    for rel in schema.many_to_many:
        left, right = rows.get(rel.table1, {}), rows.get(rel.table2, {})
        if not left or not right or rel.intersect_table not in schema:
            continue
        it = schema.table(rel.intersect_table)
        for record in env.iter_records(rel.intersect_table):
            a, b = str(record.get(rel.column1, "")).lower(), str(record.get(rel.column2, "")).lower()
            if a in left and b in right:
                take(it, clean_record(record))
    for table_name in sorted(rows):
        if not rows[table_name]:
            continue
        count = writer.write_table(table_name, iter(rows[table_name].values()))
        report.tables[table_name] = {"rows": count}
        tick(table_name, count)
    if not report.tables:
        raise SnapshotError("the subset's roots matched no rows", hint="check the filters in the subset file")
