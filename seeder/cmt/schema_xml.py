"""``data_schema.xml``: the typed model of a CMT schema, its reader and writer, and its mapping to ``Schema``.

``<entities>`` → ``<entity name displayname etc primaryidfield primarynamefield disableplugins>`` →
``<fields><field displayname name type [lookupType="a|b"] [primaryKey="true"] [customfield="true"]
[updateCompare="true"]/>`` and ``<relationships><relationship name manyToMany isreflexive
relatedEntityName m2mTargetEntity m2mTargetEntityPrimaryKey/>``, plus an optional per-entity ``<filter>``
(FetchXML, kept as text). Other writers' dialects are tolerated (``integer``/``memo`` types, missing
``m2mTarget*`` attributes).

The mapping to :class:`seeder.model.Schema` is lossy in one direction only: CMT knows no navigation
properties, entity-set names or required levels, so those are Dataverse's defaults (collection name = the
English plural of the logical name; lookup navigation property = the column, ``<column>_<target>`` when
polymorphic; N:N navigation properties = the relationship name) and a restore should take them from the
target's metadata. Each N:N relationship also gets an intersect table, whose rows carry the links.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from seeder.cmt.values import ATTRIBUTE_TYPE_BY_CMT, cmt_type_for
from seeder.cmt.xmlio import parse_bytes
from seeder.errors import UsageError
from seeder.model import Column, Lookup, LookupTarget, ManyToMany, Schema, Table

__all__ = [
    "CmtEntity",
    "CmtField",
    "CmtRelationship",
    "CmtSchema",
    "cmt_schema_from_schema",
    "parse_schema",
    "schema_from_cmt_schema",
    "write_schema",
]

_OWNER_TARGETS = ("systemuser", "team")


@dataclass(frozen=True)
class CmtField:
    name: str
    type: str
    display_name: str = ""
    lookup_types: tuple[str, ...] = ()
    primary_key: bool = False
    custom: bool = False
    update_compare: bool = False


@dataclass(frozen=True)
class CmtRelationship:
    """An N:N relationship declared on its source entity."""

    name: str
    related_entity: str
    target_entity: str
    target_primary_key: str
    reflexive: bool = False
    many_to_many: bool = True


@dataclass(frozen=True)
class CmtEntity:
    name: str
    primary_id: str
    primary_name: str | None = None
    display_name: str = ""
    etc: int | None = None
    disable_plugins: bool = False
    fields: tuple[CmtField, ...] = ()
    relationships: tuple[CmtRelationship, ...] = ()
    filter: str | None = None

    def field(self, name: str) -> CmtField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True)
class CmtSchema:
    entities: tuple[CmtEntity, ...] = ()

    def entity(self, name: str) -> CmtEntity | None:
        for e in self.entities:
            if e.name == name:
                return e
        return None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def parse_schema(data: bytes) -> CmtSchema:
    """Read ``data_schema.xml`` bytes (BOM or not). ``UsageError`` when it is not a CMT schema."""
    root = parse_bytes(data, what="data_schema.xml")
    if etree.QName(root).localname != "entities":
        raise UsageError("data_schema.xml does not start with <entities>", hint="is this a CMT schema file?")
    entities = []
    for el in root.iterchildren("entity"):
        name = el.get("name")
        if not name:
            raise UsageError("data_schema.xml has an <entity> without a name")
        fields = tuple(
            CmtField(
                name=f.get("name", ""),
                type=(f.get("type") or "").strip().lower(),
                display_name=f.get("displayname", ""),
                lookup_types=tuple(t for t in (f.get("lookupType") or "").split("|") if t),
                primary_key=_flag(f.get("primaryKey")),
                custom=_flag(f.get("customfield")),
                update_compare=_flag(f.get("updateCompare")),
            )
            for f in el.iterfind("fields/field")
            if f.get("name")
        )
        primary_id = el.get("primaryidfield") or next((f.name for f in fields if f.primary_key), "")
        if not primary_id:
            raise UsageError(f"data_schema.xml entity {name!r} names no primary id field")
        rels = []
        for r in el.iterfind("relationships/relationship"):
            if not _flag(r.get("manyToMany")):
                continue
            rel_name = r.get("name", "")
            target = r.get("m2mTargetEntity") or ""
            rels.append(
                CmtRelationship(
                    name=rel_name,
                    related_entity=r.get("relatedEntityName") or rel_name,
                    target_entity=target,
                    target_primary_key=r.get("m2mTargetEntityPrimaryKey") or (f"{target}id" if target else ""),
                    reflexive=_flag(r.get("isreflexive")),
                )
            )
        filter_el = el.find("filter")
        etc_text = (el.get("etc") or "").strip()
        entities.append(
            CmtEntity(
                name=name,
                primary_id=primary_id,
                primary_name=el.get("primarynamefield") or None,
                display_name=el.get("displayname", ""),
                etc=int(etc_text) if etc_text.isdigit() else None,
                disable_plugins=_flag(el.get("disableplugins")),
                fields=fields,
                relationships=tuple(rels),
                filter=filter_el.text if filter_el is not None and filter_el.text else None,
            )
        )
    return CmtSchema(entities=tuple(entities))


def write_schema(schema: CmtSchema) -> bytes:
    """``data_schema.xml`` bytes as CMT writes them (UTF-8, no BOM, no XML declaration)."""
    root = etree.Element("entities")
    for e in schema.entities:
        attrs = {"name": e.name, "displayname": e.display_name or e.name}
        if e.etc is not None:
            attrs["etc"] = str(e.etc)
        attrs["primaryidfield"] = e.primary_id
        attrs["primarynamefield"] = e.primary_name or ""
        attrs["disableplugins"] = "true" if e.disable_plugins else "false"
        el = etree.SubElement(root, "entity", attrs)
        fields_el = etree.SubElement(el, "fields")
        for f in e.fields:
            fa = {"displayname": f.display_name or f.name, "name": f.name, "type": f.type}
            if f.lookup_types:
                fa["lookupType"] = "|".join(f.lookup_types)
            if f.primary_key:
                fa["primaryKey"] = "true"
            if f.update_compare:
                fa["updateCompare"] = "true"
            if f.custom:
                fa["customfield"] = "true"
            etree.SubElement(fields_el, "field", fa)
        rels_el = etree.SubElement(el, "relationships")
        for r in e.relationships:
            etree.SubElement(
                rels_el,
                "relationship",
                {
                    "name": r.name,
                    "manyToMany": "true",
                    "isreflexive": "true" if r.reflexive else "false",
                    "relatedEntityName": r.related_entity,
                    "m2mTargetEntity": r.target_entity,
                    "m2mTargetEntityPrimaryKey": r.target_primary_key,
                },
            )
        if e.filter:
            etree.SubElement(el, "filter").text = e.filter
    return bytes(etree.tostring(root, encoding="utf-8", xml_declaration=False, pretty_print=True))


# -- mapping to and from seeder.model.Schema ------------------------------------------------------------


def default_entity_set(logical_name: str) -> str:
    """Dataverse's default collection name: the English plural of the logical name."""
    if logical_name.endswith(("s", "x", "z", "ch", "sh")):
        return logical_name + "es"
    if logical_name.endswith("y") and len(logical_name) > 1 and logical_name[-2] not in "aeiou":
        return logical_name[:-1] + "ies"
    return logical_name + "s"


def intersect_columns(rel: CmtRelationship, source: CmtEntity) -> tuple[str, str]:
    """The two GUID columns of an N:N intersect table (``<pk>one``/``<pk>two`` when reflexive)."""
    if rel.reflexive or rel.target_entity == source.name:
        return (f"{source.primary_id}one", f"{source.primary_id}two")
    return (source.primary_id, rel.target_primary_key or f"{rel.target_entity}id")


def _attribute_type(f: CmtField) -> str:
    kind = ATTRIBUTE_TYPE_BY_CMT.get(f.type, "Virtual")
    if kind == "Lookup" and set(f.lookup_types) == {"account", "contact"}:
        return "Customer"
    return kind


def _column_targets(f: CmtField, kind: str) -> tuple[str, ...]:
    if f.lookup_types:
        return f.lookup_types
    return _OWNER_TARGETS if kind == "Owner" else ()


def schema_from_cmt_schema(cmt: CmtSchema) -> Schema:
    """The :class:`Schema` a CMT schema describes, with one intersect table per N:N relationship."""
    tables: dict[str, Table] = {}
    n2n: dict[str, ManyToMany] = {}
    for e in cmt.entities:
        columns = []
        lookups = []
        for f in e.fields:
            kind = _attribute_type(f)
            targets = _column_targets(f, kind)
            columns.append(
                Column(
                    name=f.name,
                    type=kind,
                    targets=targets if kind in ("Lookup", "Customer", "Owner") else (),
                    is_primary_id=f.primary_key or f.name == e.primary_id,
                    is_primary_name=f.name == e.primary_name,
                    is_custom=f.custom,
                    display_name=f.display_name or None,
                )
            )
            if kind in ("Lookup", "Customer", "Owner") and targets:
                polymorphic = len(targets) > 1
                lookups.append(
                    Lookup(
                        table=e.name,
                        column=f.name,
                        to=tuple(
                            LookupTarget(table=t, navigation_property=f"{f.name}_{t}" if polymorphic else f.name)
                            for t in targets
                        ),
                    )
                )
        if not any(c.name == e.primary_id for c in columns):
            columns.append(Column(name=e.primary_id, type="Uniqueidentifier", is_primary_id=True))
        tables[e.name] = Table(
            name=e.name,
            entity_set=default_entity_set(e.name),
            primary_id=e.primary_id,
            primary_name=e.primary_name,
            columns=tuple(columns),
            lookups=tuple(lookups),
            display_name=e.display_name or None,
            is_custom="_" in e.name,
            object_type_code=e.etc,
        )
        for r in e.relationships:
            col1, col2 = intersect_columns(r, e)
            n2n[r.name] = ManyToMany(
                name=r.name, table1=e.name, table2=r.target_entity, intersect_table=r.related_entity,
                column1=col1, column2=col2, navigation1=r.name, navigation2=r.name,
            )
    for m in n2n.values():
        if m.intersect_table not in tables:
            tables[m.intersect_table] = Table(
                name=m.intersect_table,
                entity_set=m.intersect_table,
                primary_id=f"{m.intersect_table}id",
                columns=(
                    Column(name=f"{m.intersect_table}id", type="Uniqueidentifier", is_primary_id=True),
                    Column(name=m.column1, type="Uniqueidentifier"),
                    Column(name=m.column2, type="Uniqueidentifier"),
                ),
                is_intersect=True,
            )
    return Schema(tables=tuple(tables.values()), many_to_many=tuple(n2n.values()))


def cmt_schema_from_schema(
    schema: Schema, tables: list[str] | tuple[str, ...]
) -> tuple[CmtSchema, list[tuple[str, str, str]]]:
    """The CMT schema for ``tables`` of ``schema`` and the columns left out as ``(table, column, reason)``.

    Intersect tables are not entities in CMT: their rows are the ``<m2mrelationships>`` of the source
    entity, declared by a ``<relationship>`` on the first side of the N:N that is exported.
    """
    left_out: list[tuple[str, str, str]] = []
    chosen = [schema.table(t) for t in tables if t in schema and not schema.table(t).is_intersect]
    names = {t.name for t in chosen}
    entities = []
    for t in chosen:
        fields = []
        for c in sorted(t.columns, key=lambda c: c.name):
            kind = cmt_type_for(c.type)
            if kind is None:
                left_out.append((t.name, c.name, f"AttributeType {c.type} has no CMT field type"))
                continue
            if kind in ("partylist", "imagedata", "filedata"):
                left_out.append((t.name, c.name, f"{kind} columns are not carried by seeder's CMT export"))
                continue
            lookup = t.lookup(c.name)
            targets = lookup.targets if lookup else c.targets
            fields.append(
                CmtField(
                    name=c.name,
                    type=kind,
                    display_name=c.display_name or c.name,
                    lookup_types=tuple(targets) if kind == "entityreference" else (),
                    primary_key=c.name == t.primary_id,
                    custom=c.is_custom,
                )
            )
        if not any(f.name == t.primary_id for f in fields):
            fields.append(CmtField(name=t.primary_id, type="guid", display_name=t.primary_id, primary_key=True))
        rels = []
        for r in schema.many_to_many:
            if r.table1 == t.name or (r.table2 == t.name and r.table1 not in names):
                other = r.table2 if r.table1 == t.name else r.table1
                other_table = schema.get(other)
                rels.append(
                    CmtRelationship(
                        name=r.name,
                        related_entity=r.intersect_table,
                        target_entity=other,
                        target_primary_key=other_table.primary_id if other_table else f"{other}id",
                        reflexive=r.table1 == r.table2,
                    )
                )
        entities.append(
            CmtEntity(
                name=t.name,
                primary_id=t.primary_id,
                primary_name=t.primary_name,
                display_name=t.display_name or t.name,
                etc=t.object_type_code,
                fields=tuple(sorted(fields, key=lambda f: f.name)),
                relationships=tuple(sorted(rels, key=lambda r: r.name)),
            )
        )
    return CmtSchema(entities=tuple(entities)), left_out
