"""Configuration Migration Tool interop: a CMT data package → a snapshot, and a snapshot → a CMT package.

``cmt_import`` reads ``data_schema.xml`` into a :class:`~seeder.model.Schema` (one intersect table per
N:N relationship) and streams ``data.xml`` into a :class:`~seeder.snapshot.SnapshotWriter`: records in
the Web API JSON shape, ``<m2mrelationship>`` links as rows of the intersect table. ``cmt_export`` writes
a zip that CMT and Package Deployer import: ``[Content_Types].xml``, ``data_schema.xml`` (field types,
``lookupType``, primary keys, N:N relationships) and ``data.xml`` (records, ``lookupentity`` /
``lookupentityname``, ``m2mrelationships``).

Nothing is dropped silently: every value that cannot be carried (unknown field type, party lists,
image and file columns, undeclared fields, lookups without a target table, links of an unknown
relationship...) is an entry in :class:`~seeder.cmt.CmtReport` ``dropped`` with table, column and record
id; caveats (a lookup whose target record is not in the package, empty ``lookupentityname``, ``bigint``
values CMT ignores on import) are ``warnings``. Memory: records stream; N:N links, and the record ids
used to check lookups inside the package, are held per run (CMT packages are configuration data).
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from seeder.cmt import (
    DEFAULT_MAX_ENTRY_BYTES,
    CmtEntity,
    CmtEntityStart,
    CmtIssue,
    CmtLinks,
    CmtPackageReader,
    CmtRecord,
    CmtReport,
    DataXmlWriter,
    cmt_schema_from_schema,
    iter_data,
    parse_schema,
    record_from_cmt,
    record_to_cmt,
    schema_from_cmt_schema,
    write_package,
    write_schema,
)
from seeder.cmt.data_xml import read_timestamp
from seeder.cmt.values import normalise_guid
from seeder.errors import UsageError
from seeder.model import LOOKUP_LOGICALNAME, Record, Schema, lookup_value_key
from seeder.snapshot import Snapshot, SnapshotWriter

__all__ = ["CmtReport", "cmt_export", "cmt_import", "link_id"]

Progress = Callable[[str, int], None]
_LINK_NAMESPACE = uuid.UUID("8f6b7a52-5f0c-4c1e-9a43-3c1d6c0f1e20")


def link_id(relationship: str, source_id: str, target_id: str) -> str:
    """The stable primary id of an intersect row (CMT packages carry none)."""
    return str(uuid.uuid5(_LINK_NAMESPACE, f"{relationship}|{source_id}|{target_id}"))


# -- package → snapshot -------------------------------------------------------------------------------


def cmt_import(
    package: Path,
    out: Path,
    *,
    progress: Progress | None = None,
    key: bytes | None = None,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
) -> CmtReport:
    """Turn the CMT data package ``package`` (zip or folder) into a snapshot at ``out``."""
    dropped: list[CmtIssue] = []
    warnings: list[CmtIssue] = []
    counts: dict[str, int] = {}
    with CmtPackageReader(package, max_entry_bytes=max_entry_bytes) as pkg:
        if not pkg.has("data.xml"):
            raise UsageError(f"{package} has no data.xml", hint="a schema-only package holds no data to import")
        cmt = parse_schema(pkg.read("data_schema.xml"))
        schema = schema_from_cmt_schema(cmt)
        relationships = {r.name: r for r in schema.many_to_many}
        links: dict[str, set[tuple[str, str]]] = defaultdict(set)
        ids: dict[str, set[str]] = defaultdict(set)
        lookups: list[tuple[str, str, str, str, str]] = []  # only those not resolved when read
        with pkg.open("data.xml") as stream:
            created = _parse_timestamp(read_timestamp(stream))
        with (
            SnapshotWriter(out, schema=schema, source=None, key=key, created=created) as writer,
            pkg.open("data.xml") as stream,
        ):
            for name, group in itertools.groupby(iter_data(stream), key=lambda pair: pair[0]):
                items = (item for _, item in group)
                entity = cmt.entity(name)
                if entity is None or name in counts:
                    _drop_entity(name, entity is None, items, dropped)
                    continue
                records = _records_of(entity, items, schema, links, ids, lookups, dropped, warnings)
                counts[name] = writer.write_table(name, records)
                if progress:
                    progress(name, counts[name])
            for e in cmt.entities:
                if e.name not in counts:
                    counts[e.name] = writer.write_table(e.name, [])
            n2n = _write_links(writer, schema, relationships, links, counts, dropped)
    _check_lookup_targets(lookups, ids, warnings)
    return CmtReport(
        direction="import", source=str(package), target=str(out), tables=counts, n2n=n2n,
        dropped=tuple(dropped), warnings=tuple(warnings),
    )


def _parse_timestamp(text: str | None) -> datetime | None:
    """CMT's export time (``2025-06-29T16:27:50.4009413Z``) as the snapshot's creation time, when present."""
    if not text:
        return None
    head, _, rest = text.strip().partition(".")
    zone = "+00:00" if text.strip().endswith("Z") or not rest else ""
    try:
        moment = datetime.fromisoformat(head.removesuffix("Z") + zone)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _drop_entity(name: str, undeclared: bool, items: Iterator[Any], dropped: list[CmtIssue]) -> None:
    reason = "entity is not declared in data_schema.xml" if undeclared else "entity appears twice in data.xml"
    for item in items:
        if isinstance(item, CmtRecord):
            dropped.append(CmtIssue(name, "", item.id, reason))
        elif isinstance(item, CmtLinks):
            for target in item.target_ids:
                dropped.append(CmtIssue(name, item.relationship, f"{item.source_id}->{target}", reason))


def _records_of(
    entity: CmtEntity,
    items: Iterator[Any],
    schema: Schema,
    links: dict[str, set[tuple[str, str]]],
    seen: dict[str, set[str]],
    lookups: list[tuple[str, str, str, str, str]],
    dropped: list[CmtIssue],
    warnings: list[CmtIssue],
) -> Iterator[Record]:
    relationships = {r.name: r for r in schema.many_to_many}
    in_package = set(schema.table_names)
    lookup_columns = [f.name for f in entity.fields if f.type in ("entityreference", "owner", "customer")]
    for item in items:
        if isinstance(item, CmtEntityStart):
            continue
        if isinstance(item, CmtLinks):
            _collect_links(entity.name, item, relationships, links, dropped)
            continue
        record = record_from_cmt(entity, item, dropped, warnings)
        if record is None:
            continue
        record_id = record[entity.primary_id]
        ids = seen.setdefault(entity.name, set())
        if record_id in ids:
            reason = "duplicate record id: later copy dropped"
            dropped.append(CmtIssue(entity.name, entity.primary_id, record_id, reason))
            continue
        ids.add(record_id)
        for column in lookup_columns:
            key = lookup_value_key(column)
            target = record.get(key + LOOKUP_LOGICALNAME)
            if target in in_package and record[key] not in seen.get(str(target), ()):
                lookups.append((entity.name, column, record_id, str(target), str(record[key])))
        yield record


def _collect_links(
    table: str,
    item: CmtLinks,
    relationships: dict[str, Any],
    links: dict[str, set[tuple[str, str]]],
    dropped: list[CmtIssue],
) -> None:
    rel = relationships.get(item.relationship)
    for raw_target in item.target_ids:
        where = f"{item.source_id}->{raw_target}"
        if rel is None or table not in (rel.table1, rel.table2):
            dropped.append(CmtIssue(table, item.relationship, where, "N:N relationship not declared for this entity"))
            continue
        try:
            source, target = normalise_guid(item.source_id), normalise_guid(raw_target)
        except ValueError:
            dropped.append(CmtIssue(table, item.relationship, where, "N:N link id is not a GUID"))
            continue
        pair = (source, target) if table == rel.table1 else (target, source)
        links[rel.name].add(pair)


def _write_links(
    writer: SnapshotWriter,
    schema: Schema,
    relationships: dict[str, Any],
    links: dict[str, set[tuple[str, str]]],
    counts: dict[str, int],
    dropped: list[CmtIssue],
) -> dict[str, int]:
    n2n: dict[str, int] = {}
    by_intersect: dict[str, list[Record]] = defaultdict(list)
    for name in sorted(relationships):
        rel = relationships[name]
        if rel.intersect_table in counts:  # an entity of the package has the intersect table's name
            for one, two in sorted(links.get(name, ())):
                reason = f"intersect table {rel.intersect_table} clashes with an entity of the package"
                dropped.append(CmtIssue(rel.table1, name, f"{one}->{two}", reason))
            n2n[name] = 0
            continue
        pk = schema.table(rel.intersect_table).primary_id
        for one, two in sorted(links.get(name, ())):
            by_intersect[rel.intersect_table].append({pk: link_id(name, one, two), rel.column1: one, rel.column2: two})
        n2n[name] = len(links.get(name, ()))
    for rel in relationships.values():
        table = rel.intersect_table
        if table not in counts:
            counts[table] = writer.write_table(table, by_intersect.get(table, []))
    return n2n


def _check_lookup_targets(
    lookups: list[tuple[str, str, str, str, str]], ids: dict[str, set[str]], warnings: list[CmtIssue]
) -> None:
    for table, column, record_id, target, target_id in lookups:
        if target_id not in ids.get(target, ()):
            warnings.append(
                CmtIssue(table, column, record_id, f"lookup target {target} {target_id} is not in the package")
            )


# -- snapshot → package -------------------------------------------------------------------------------


def cmt_export(
    snapshot: Path,
    out: Path,
    *,
    key: bytes | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> CmtReport:
    """Write the snapshot at ``snapshot`` as a CMT data package zip at ``out`` (atomically)."""
    if out.exists() and not overwrite:
        raise UsageError(f"{out} already exists; refusing to overwrite it", hint="choose another --out")
    snap = Snapshot.open(snapshot, key=key)
    schema = snap.schema
    dropped: list[CmtIssue] = []
    warnings: list[CmtIssue] = []
    present = set(snap.tables)
    intersects = {r.intersect_table for r in schema.many_to_many}
    tables = sorted(t for t in present if t in schema and t not in intersects and not schema.table(t).is_intersect)
    for t in sorted(present - set(tables) - intersects):
        for record in snap.records(t):
            dropped.append(CmtIssue(t, "", _id_of(schema, t, record), "table has no description in schema.json"))
    cmt, left_out = cmt_schema_from_schema(schema, tables)
    for table, column, reason in left_out:
        warnings.append(CmtIssue(table, column, "", reason))
    names = _primary_names(snap, cmt.entities, present)
    counts: dict[str, int] = {}
    n2n: dict[str, int] = {}
    nameless: Counter[tuple[str, str]] = Counter()
    bigints: Counter[tuple[str, str]] = Counter()
    with write_package(out, write_schema(cmt)) as stream, DataXmlWriter(stream, timestamp=snap.manifest.created) as xml:
        for entity in cmt.entities:
            xml.begin_entity(entity.name, entity.display_name)
            bigint_fields = {f.name for f in entity.fields if f.type == "bigint"}
            written = 0
            for record in snap.records(entity.name):
                rec = record_to_cmt(entity, record, dropped, nameless, names)
                if rec is None:
                    continue
                for f in rec.fields:
                    if f.name in bigint_fields:
                        bigints[(entity.name, f.name)] += 1
                xml.write_record(rec)
                written += 1
            counts[entity.name] = written
            for rel in entity.relationships:
                n2n[rel.name] = _export_links(snap, schema, entity, rel.name, present, xml, dropped)
            xml.end_entity()
            if progress:
                progress(entity.name, written)
    for (table, column), n in sorted(nameless.items()):
        warnings.append(CmtIssue(table, column, "", f"{n} lookup values written with an empty lookupentityname"))
    for (table, column), n in sorted(bigints.items()):
        warnings.append(CmtIssue(table, column, "", f"{n} bigint values written; CMT ignores bigint on import"))
    return CmtReport(
        direction="export", source=str(snapshot), target=str(out), tables=counts, n2n=n2n,
        dropped=tuple(dropped), warnings=tuple(warnings),
    )


def _id_of(schema: Schema, table: str, record: Record) -> str:
    t = schema.get(table)
    return str(record.get(t.primary_id, "")) if t else ""


def _primary_names(snap: Snapshot, entities: tuple[CmtEntity, ...], present: set[str]) -> dict[str, str]:
    """Record id → primary name for the exported tables that lookups point at (for ``lookupentityname``)."""
    targets = {t for e in entities for f in e.fields for t in f.lookup_types}
    names: dict[str, str] = {}
    for e in entities:
        if e.name in targets and e.name in present and e.primary_name:
            for record in snap.records(e.name):
                value = record.get(e.primary_name)
                if isinstance(value, str):
                    names[str(record.get(e.primary_id, "")).lower()] = value
    return names


def _export_links(
    snap: Snapshot,
    schema: Schema,
    entity: CmtEntity,
    name: str,
    present: set[str],
    xml: DataXmlWriter,
    dropped: list[CmtIssue],
) -> int:
    rel = next(r for r in schema.many_to_many if r.name == name)
    if rel.intersect_table not in present:
        return 0
    if rel.table1 == entity.name:
        source_col, target_col, target = rel.column1, rel.column2, rel.table2
    else:
        source_col, target_col, target = rel.column2, rel.column1, rel.table1
    target_table = schema.get(target)
    target_pk = target_table.primary_id if target_table else f"{target}id"
    by_source: dict[str, set[str]] = defaultdict(set)
    for row in snap.records(rel.intersect_table):
        source, other = row.get(source_col), row.get(target_col)
        try:
            by_source[normalise_guid(str(source))].add(normalise_guid(str(other)))
        except ValueError:
            where = f"{source}->{other}"
            dropped.append(CmtIssue(rel.intersect_table, name, where, "N:N row lacks a GUID on one side"))
    for source in sorted(by_source):
        xml.write_links(CmtLinks(name, source, target, target_pk, tuple(sorted(by_source[source]))))
    return sum(len(v) for v in by_source.values())
