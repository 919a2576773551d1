"""EntityDefinitions JSON → :class:`seeder.model.Schema`.

Owns the metadata reads (``EntityDefinitions`` and, per table, ``Attributes``, ``ManyToOneRelationships``,
``ManyToManyRelationships`` and ``Keys``, with typed casts when base responses lack ``Targets`` or
``FormatName``) and the pure conversion of those documents into tables, columns (types, formats such as
Email and Phone, required levels), lookups with every target and its navigation property (polymorphic
included), N:N relationships and alternate keys. Shadow columns (``AttributeOf`` set, e.g. ``*name``) are
left out: they are never written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from seeder.model import AlternateKey, Column, Lookup, LookupTarget, ManyToMany, Schema, Table

__all__ = ["ENTITY_SELECT", "schema_from_documents", "table_from_documents"]

ENTITY_SELECT = (
    "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,ObjectTypeCode,IsIntersect,"
    "IsCustomEntity,OwnershipType,ChangeTrackingEnabled,DisplayName"
)
_TYPE_NAMES = {"MultiSelectPicklistType": "MultiSelectPicklist", "FileType": "File", "ImageType": "Image"}

GetJson = Callable[[str, Mapping[str, str] | None], Any]


def _label(value: Any) -> str | None:
    if isinstance(value, dict):
        user = value.get("UserLocalizedLabel")
        if isinstance(user, dict) and user.get("Label"):
            return str(user["Label"])
        for loc in value.get("LocalizedLabels") or []:
            if isinstance(loc, dict) and loc.get("Label"):
                return str(loc["Label"])
    return None


def _managed(value: Any) -> Any:
    """Unwrap ``{"Value": x}`` managed/enum properties."""
    return value.get("Value") if isinstance(value, dict) else value


def _column(attr: Mapping[str, Any], extra: Mapping[str, Any]) -> Column:
    name = str(attr["LogicalName"])
    merged = {**attr, **extra.get(name, {})}
    kind = str(merged.get("AttributeType") or "String")
    type_name = _managed(merged.get("AttributeTypeName"))
    if kind == "Virtual" and type_name in _TYPE_NAMES:
        kind = _TYPE_NAMES[str(type_name)]
    fmt = _managed(merged.get("FormatName")) or merged.get("Format")
    if isinstance(fmt, dict):
        fmt = fmt.get("Value")
    if kind not in ("String", "Memo", "DateTime", "Integer") or fmt in (None, "", "None"):
        fmt = None
    options: list[tuple[int, str]] = []
    option_set = merged.get("OptionSet")
    if isinstance(option_set, dict):
        for opt in option_set.get("Options") or []:
            if isinstance(opt, dict) and opt.get("Value") is not None:
                options.append((int(opt["Value"]), _label(opt.get("Label")) or str(opt["Value"])))
        for key in ("FalseOption", "TrueOption"):
            opt = option_set.get(key)
            if isinstance(opt, dict) and opt.get("Value") is not None:
                options.append((int(opt["Value"]), _label(opt.get("Label")) or str(opt["Value"])))
    max_length = merged.get("MaxLength")
    return Column(
        name=name, type=kind, format=str(fmt) if fmt else None,
        required=str(_managed(merged.get("RequiredLevel")) or "None"),
        max_length=int(max_length) if isinstance(max_length, int) else None,
        targets=tuple(sorted(str(t) for t in merged.get("Targets") or ())),
        is_primary_id=bool(merged.get("IsPrimaryId")), is_primary_name=bool(merged.get("IsPrimaryName")),
        is_custom=bool(merged.get("IsCustomAttribute")),
        valid_for_create=merged.get("IsValidForCreate") is not False,
        valid_for_update=merged.get("IsValidForUpdate") is not False,
        display_name=_label(merged.get("DisplayName")), options=tuple(sorted(set(options))),
    )


def table_from_documents(
    entity: Mapping[str, Any], attributes: Sequence[Mapping[str, Any]],
    many_to_one: Sequence[Mapping[str, Any]], keys: Sequence[Mapping[str, Any]],
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> Table:
    """One :class:`Table` from an EntityDefinition and its Attributes / ManyToOne / Keys documents.

    ``extra`` holds typed-cast properties by attribute name (``Targets``, ``FormatName``, ``MaxLength``).
    """
    name = str(entity["LogicalName"])
    columns = tuple(sorted(
        (_column(a, extra or {}) for a in attributes if not a.get("AttributeOf") and a.get("LogicalName")),
        key=lambda c: c.name,
    ))
    by_column: dict[str, dict[str, LookupTarget]] = {}
    for rel in many_to_one:
        if rel.get("ReferencingEntity", name) != name:
            continue
        column = str(rel.get("ReferencingAttribute") or "")
        target = str(rel.get("ReferencedEntity") or "")
        if not column or not target:
            continue
        nav = str(rel.get("ReferencingEntityNavigationPropertyName") or column)
        by_column.setdefault(column, {})[target] = LookupTarget(target, nav, str(rel.get("SchemaName") or ""))
    lookups = []
    for col in columns:
        if not col.is_lookup:
            continue
        known = by_column.get(col.name, {})
        targets = sorted(col.targets) if col.targets else sorted(known)
        # A relationship to an abstract parent (owner/principal) names the one nav property for all targets.
        shared = next((lt for t, lt in sorted(known.items()) if t not in targets), None)
        single = len(targets) == 1
        to = tuple(
            known.get(t)
            or (LookupTarget(t, shared.navigation_property, shared.relationship) if shared else None)
            or LookupTarget(t, col.name if single else f"{col.name}_{t}")
            for t in targets
        )
        if to:
            lookups.append(Lookup(table=name, column=col.name, to=to, required=col.is_required))
    alt_keys = tuple(sorted(
        (AlternateKey(name=str(k.get("SchemaName") or k.get("LogicalName")),
                      columns=tuple(str(c) for c in k.get("KeyAttributes") or ()))
         for k in keys if _managed(k.get("EntityKeyIndexStatus")) in (None, "Active")),
        key=lambda k: k.name,
    ))
    otc = entity.get("ObjectTypeCode")
    return Table(
        name=name, entity_set=str(entity.get("EntitySetName") or name + "s"),
        primary_id=str(entity.get("PrimaryIdAttribute") or name + "id"),
        primary_name=entity.get("PrimaryNameAttribute") or None, columns=columns,
        lookups=tuple(sorted(lookups, key=lambda lk: lk.column)), keys=alt_keys,
        display_name=_label(entity.get("DisplayName")),
        ownership=str(_managed(entity.get("OwnershipType")) or "UserOwned"),
        is_custom=bool(entity.get("IsCustomEntity")), is_intersect=bool(entity.get("IsIntersect")),
        change_tracking=bool(entity.get("ChangeTrackingEnabled", True)),
        object_type_code=int(otc) if isinstance(otc, int) else None,
    )


def _many_to_many(rel: Mapping[str, Any]) -> ManyToMany:
    return ManyToMany(
        name=str(rel.get("SchemaName")), table1=str(rel.get("Entity1LogicalName")),
        table2=str(rel.get("Entity2LogicalName")), intersect_table=str(rel.get("IntersectEntityName")),
        column1=str(rel.get("Entity1IntersectAttribute")), column2=str(rel.get("Entity2IntersectAttribute")),
        navigation1=str(rel.get("Entity1NavigationPropertyName") or ""),
        navigation2=str(rel.get("Entity2NavigationPropertyName") or ""),
    )


def schema_from_documents(tables: Sequence[Table], many_to_many: Sequence[Mapping[str, Any]]) -> Schema:
    """A Schema of ``tables`` plus the N:N relationships whose both sides are among them."""
    names = {t.name for t in tables}
    rels = {}
    for rel in many_to_many:
        m = _many_to_many(rel)
        if m.table1 in names and m.table2 in names:
            rels[m.name] = m
    return Schema(tables=tuple(tables), many_to_many=tuple(rels.values()))


def _values(doc: Any) -> list[Mapping[str, Any]]:
    return list(doc.get("value", [])) if isinstance(doc, dict) else []


def read_table(get: GetJson, entity: Mapping[str, Any]) -> tuple[Table, list[Mapping[str, Any]]]:
    """Fetch one table's attribute, relationship and key documents and build it; also returns its N:N."""
    base = f"EntityDefinitions(LogicalName='{entity['LogicalName']}')"
    attributes = _values(get(f"{base}/Attributes", None))
    extra: dict[str, dict[str, Any]] = {}
    if any(a.get("AttributeType") in ("Lookup", "Customer", "Owner") and "Targets" not in a for a in attributes):
        for a in _values(get(f"{base}/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                             {"$select": "LogicalName,Targets"})):
            extra.setdefault(str(a["LogicalName"]), {})["Targets"] = a.get("Targets") or []
    if any(a.get("AttributeType") == "String" and "FormatName" not in a for a in attributes):
        for a in _values(get(f"{base}/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata",
                             {"$select": "LogicalName,FormatName,MaxLength"})):
            extra.setdefault(str(a["LogicalName"]), {}).update(
                {k: a[k] for k in ("FormatName", "MaxLength") if k in a})
    many_to_one = _values(get(f"{base}/ManyToOneRelationships", None))
    many_to_many = _values(get(f"{base}/ManyToManyRelationships", None))
    keys = _values(get(f"{base}/Keys", None))
    return table_from_documents(entity, attributes, many_to_one, keys, extra), many_to_many


def read_schema(get: GetJson, tables: Sequence[str] | None, *, workers: int = 4) -> Schema:
    """The Schema of ``tables`` (all tables when ``None``), reading tables in parallel."""
    params = {"$select": ENTITY_SELECT}
    entities = _values(get("EntityDefinitions", params))
    if tables is not None:
        wanted = set(tables)
        entities = [e for e in entities if e.get("LogicalName") in wanted]
        missing = wanted - {str(e.get("LogicalName")) for e in entities}
        if missing:
            from seeder.errors import DataverseError

            raise DataverseError(f"tables not found in the environment: {', '.join(sorted(missing))}",
                                 status=404, code="0x8006088a",
                                 hint="Use logical names (account, contact), not display or set names.")
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="seeder-meta") as pool:
        results = list(pool.map(lambda e: read_table(get, e), entities))
    n2n = [rel for _, rels in results for rel in rels]
    return schema_from_documents([t for t, _ in results], n2n)
