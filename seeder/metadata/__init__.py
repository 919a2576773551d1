"""Pure schema readers: the built-in CRM core, unpacked or packed solutions, CMT ``data_schema.xml`` files.

Everything here turns files into :class:`seeder.model.Schema` values and does no I/O beyond reading the
files it is given. :func:`load_schema_source` picks the right reader for a path; :func:`extend_schema`
lays a partial schema (a solution that adds columns to ``account``) over a fuller one without losing
what only the fuller one knows. :func:`parse_xml` / :func:`read_xml_file` are the hardened XML readers
(no entities, no DTD, no network) for any other Dataverse XML.
"""

from __future__ import annotations

import json
from pathlib import Path

from seeder.errors import UsageError
from seeder.metadata._xml import child_text, open_zip, parse_xml, read_xml_file, safe_zip_members
from seeder.metadata.cmt import schema_from_cmt, schema_from_cmt_xml
from seeder.metadata.crm import COMPONENT_TYPES, crm_core_schema, crm_status_states
from seeder.metadata.solution import schema_from_customizations, schema_from_solution
from seeder.model import Schema, Table

__all__ = [
    "COMPONENT_TYPES",
    "child_text",
    "crm_core_schema",
    "crm_status_states",
    "extend_schema",
    "load_schema_source",
    "parse_xml",
    "read_xml_file",
    "schema_from_cmt",
    "schema_from_solution",
]


def load_schema_source(path: Path) -> Schema:
    """The schema in ``path``, whatever it is: a CMT ``data_schema.xml`` / package zip / folder, an unpacked
    solution folder, a packed solution zip, a ``customizations.xml``, or a ``schema.json``."""
    path = Path(path)
    if path.is_dir():
        if (path / "data_schema.xml").is_file():
            return schema_from_cmt(path)
        return schema_from_solution(path)
    if not path.is_file():
        raise UsageError(f"schema source {path} does not exist", path=str(path))
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with open_zip(path) as archive:
            names = {n.rsplit("/", 1)[-1].lower() for n in safe_zip_members(archive, str(path))}
        if "customizations.xml" in names:
            return schema_from_solution(path)
        if "data_schema.xml" in names:
            return schema_from_cmt(path)
        raise UsageError(f"{path} is neither a solution zip nor a CMT package", path=str(path))
    if suffix == ".json":
        try:
            return Schema.from_dict(json.loads(path.read_text(encoding="utf-8-sig")))
        except (ValueError, TypeError, KeyError) as exc:
            raise UsageError(f"{path} is not a schema.json: {exc}", path=str(path)) from None
    root = read_xml_file(path)
    if root.tag == "entities":
        return schema_from_cmt_xml(root, str(path))
    if root.tag == "ImportExportXml":
        return schema_from_customizations(root, str(path))
    raise UsageError(f"{path}: unknown schema file (root element <{root.tag}>)", path=str(path),
                     hint="give a data_schema.xml, customizations.xml, solution folder or zip, or schema.json")


def extend_schema(base: Schema, extra: Schema) -> Schema:
    """``base`` with ``extra`` laid over it: new tables added; for a table in both, columns, lookups and keys
    are merged by name (``extra`` wins per item) and a table ``extra`` only names without columns keeps
    ``base``'s definition."""
    tables = {t.name: t for t in base.tables}
    for table in extra.tables:
        known = tables.get(table.name)
        tables[table.name] = table if known is None else _merge_table(known, table)
    rels = {r.name: r for r in base.many_to_many}
    rels.update({r.name: r for r in extra.many_to_many})
    return Schema(tables=tuple(tables.values()), many_to_many=tuple(rels.values()))


def _merge_table(base: Table, extra: Table) -> Table:
    columns = {c.name: c for c in base.columns}
    columns.update({c.name: c for c in extra.columns})
    lookups = {lk.column: lk for lk in base.lookups}
    lookups.update({lk.column: lk for lk in extra.lookups})
    keys = {k.name: k for k in base.keys}
    keys.update({k.name: k for k in extra.keys})
    return Table(
        name=base.name, entity_set=base.entity_set, primary_id=base.primary_id,
        primary_name=base.primary_name or extra.primary_name,
        columns=tuple(sorted(columns.values(), key=lambda c: c.name)),
        lookups=tuple(sorted(lookups.values(), key=lambda k: k.column)),
        keys=tuple(sorted(keys.values(), key=lambda k: k.name)), display_name=base.display_name or extra.display_name,
        ownership=base.ownership, is_custom=base.is_custom, is_intersect=base.is_intersect,
        change_tracking=base.change_tracking, object_type_code=base.object_type_code or extra.object_type_code,
    )
