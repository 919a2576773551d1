"""Read a :class:`Schema` from a Configuration Migration Tool ``data_schema.xml``, a folder holding one, or a
CMT package ``.zip`` — including the Capgemini dialect (``type="integer"``, ``memo``, relationships without
an ``m2mTargetEntity``, which cannot be placed and are skipped).

A CMT schema carries no required levels and no navigation property names: lookups get Dataverse's
default navigation names (the column name, ``<column>_<target>`` when polymorphic) and entity set names
come from the built-in CRM schema when the table is a standard one.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from seeder.errors import UsageError
from seeder.metadata._build import entity_set_name
from seeder.metadata._xml import open_zip, parse_xml, read_xml_file, safe_zip_members, zip_member
from seeder.metadata.crm import crm_core_schema
from seeder.model import Column, Lookup, LookupTarget, ManyToMany, Schema, Table

__all__ = ["schema_from_cmt", "schema_from_cmt_xml"]

_TYPES = {
    "string": "String", "memo": "Memo", "number": "Integer", "integer": "Integer", "bigint": "BigInt",
    "decimal": "Decimal", "float": "Double", "double": "Double", "money": "Money", "bool": "Boolean",
    "boolean": "Boolean", "datetime": "DateTime", "guid": "Uniqueidentifier", "optionsetvalue": "Picklist",
    "optionsetvaluecollection": "MultiSelectPicklist", "state": "State", "status": "Status", "owner": "Owner",
    "entityreference": "Lookup", "partylist": "PartyList", "imagedata": "Image", "filedata": "File",
}
_SCHEMA_FILE = "data_schema.xml"


def schema_from_cmt(path: Path) -> Schema:
    """The schema of a CMT ``data_schema.xml`` (or a folder or package ``.zip`` holding one)."""
    path = Path(path)
    if path.is_dir():
        candidate = path / _SCHEMA_FILE
        if not candidate.is_file():
            raise UsageError(f"{path} holds no {_SCHEMA_FILE}", path=str(path))
        return schema_from_cmt_xml(read_xml_file(candidate), str(candidate))
    if not path.is_file():
        raise UsageError(f"{path} does not exist", path=str(path))
    if path.suffix.lower() == ".zip":
        with open_zip(path) as archive:
            members = safe_zip_members(archive, str(path))
            found = sorted(n for n in members if n.rsplit("/", 1)[-1].lower() == _SCHEMA_FILE)
            if not found:
                raise UsageError(f"{path} has no {_SCHEMA_FILE}: not a CMT package", path=str(path))
            data = zip_member(archive, members[found[0]], str(path))
        return schema_from_cmt_xml(parse_xml(data, f"{path}!{found[0]}"), str(path))
    return schema_from_cmt_xml(read_xml_file(path), str(path))


def schema_from_cmt_xml(root: etree._Element, source: str) -> Schema:
    """The schema an ``<entities>`` root describes."""
    if root.tag != "entities":
        raise UsageError(f"{source} is not a CMT schema (root element <{root.tag}>, expected <entities>)",
                         path=source)
    core = crm_core_schema()
    tables: dict[str, Table] = {}
    relationships: dict[str, ManyToMany] = {}
    for entity in root.findall("entity"):
        table = _table(entity, core, source)
        tables[table.name] = table
        for rel in entity.findall("relationships/relationship"):
            m2m = _many_to_many(rel, table)
            if m2m is not None:
                relationships[m2m.name] = m2m
    return Schema(tables=tuple(tables.values()), many_to_many=tuple(relationships.values()))


def _table(entity: etree._Element, core: Schema, source: str) -> Table:
    name = (entity.get("name") or "").lower()
    if not name:
        raise UsageError(f"{source}: an <entity> has no name", path=source)
    primary_id = (entity.get("primaryidfield") or f"{name}id").lower()
    primary_name = (entity.get("primarynamefield") or "").lower() or None
    columns: list[Column] = []
    lookups: list[Lookup] = []
    for field in entity.findall("fields/field"):
        column_name = (field.get("name") or "").lower()
        raw = (field.get("type") or "").lower()
        if not column_name or not raw:
            continue
        type_ = _TYPES.get(raw, raw.capitalize())
        targets: tuple[str, ...] = ()
        if type_ == "Owner":
            targets = ("systemuser", "team")
        elif type_ == "Lookup":
            targets = tuple(t.strip().lower() for t in (field.get("lookupType") or "").split("|") if t.strip())
        is_primary_id = field.get("primaryKey") == "true" or column_name == primary_id
        columns.append(Column(
            name=column_name, type=type_, format="Text" if type_ == "String" else None,
            required="SystemRequired" if is_primary_id else "None", targets=targets, is_primary_id=is_primary_id,
            is_primary_name=column_name == primary_name, is_custom=field.get("customfield") == "true",
            display_name=field.get("displayname"),
        ))
        if targets:
            lookups.append(_lookup(name, column_name, type_, targets))
    known = core.get(name)
    otc = entity.get("etc") or ""
    return Table(
        name=name, entity_set=known.entity_set if known is not None else entity_set_name(name),
        primary_id=primary_id, primary_name=primary_name, columns=tuple(sorted(columns, key=lambda c: c.name)),
        lookups=tuple(sorted(lookups, key=lambda k: k.column)), display_name=entity.get("displayname"),
        ownership="UserOwned" if any(c.name == "ownerid" for c in columns) else "OrganizationOwned",
        is_custom="_" in name, object_type_code=int(otc) if otc.isdigit() else None,
    )


def _lookup(table: str, column: str, type_: str, targets: tuple[str, ...]) -> Lookup:
    polymorphic = len(targets) > 1 and type_ != "Owner"
    return Lookup(table=table, column=column, to=tuple(
        LookupTarget(table=t, navigation_property=f"{column}_{t}" if polymorphic else column) for t in targets
    ))


def _many_to_many(rel: etree._Element, table: Table) -> ManyToMany | None:
    if rel.get("manyToMany") != "true":
        return None
    target = (rel.get("m2mTargetEntity") or "").lower()
    if not target:
        return None
    name = rel.get("name") or rel.get("relatedEntityName") or ""
    column1 = table.primary_id
    column2 = (rel.get("m2mTargetEntityPrimaryKey") or f"{target}id").lower()
    if column1 == column2:
        column1, column2 = f"{column1}one", f"{column2}two"
    return ManyToMany(name=name, table1=table.name, table2=target,
                      intersect_table=(rel.get("relatedEntityName") or name).lower(), column1=column1,
                      column2=column2, navigation1=name, navigation2=name)
