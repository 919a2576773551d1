"""Read a :class:`Schema` from a Dataverse solution: an unpacked folder (``pac solution unpack`` /
SolutionPackager layout: ``Entities/*/Entity.xml``, ``Other/Relationships/*.xml`` or
``Other/Relationships.xml``, ``Other/Customizations.xml``, ``OptionSets/*.xml``) or a packed solution
``.zip`` (``customizations.xml``).

Table and column names are lower-cased logical names. Lookup targets come from the one-to-many
relationships (``Owner`` meaning systemuser and team), then from ``LookupTypes`` codes, then from the
standard system columns; the single-valued navigation property is the relationship's referencing role
when given, else Dataverse's default (the attribute schema name for custom lookups).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from seeder.errors import UsageError
from seeder.metadata._build import entity_set_name
from seeder.metadata._xml import child_text, open_zip, parse_xml, read_xml_file, safe_zip_members, zip_member
from seeder.model import AlternateKey, Column, Lookup, LookupTarget, ManyToMany, Schema, Table

__all__ = ["schema_from_customizations", "schema_from_solution"]

_TYPES = {
    "primarykey": "Uniqueidentifier", "uniqueidentifier": "Uniqueidentifier", "nvarchar": "String",
    "ntext": "Memo", "int": "Integer", "bigint": "BigInt", "bit": "Boolean", "datetime": "DateTime",
    "decimal": "Decimal", "float": "Double", "money": "Money", "lookup": "Lookup", "customer": "Customer",
    "owner": "Owner", "picklist": "Picklist", "multiselectpicklist": "MultiSelectPicklist", "state": "State",
    "status": "Status", "file": "File", "image": "Image", "partylist": "PartyList", "entityname": "EntityName",
    "timezone": "Integer", "language": "Integer", "duration": "Integer", "virtual": "Virtual",
}
_FORMATS = {
    "email": "Email", "text": "Text", "textarea": "TextArea", "url": "Url", "tickersymbol": "TickerSymbol",
    "phone": "Phone", "json": "Json", "richtext": "RichText", "versionnumber": "VersionNumber",
    "phoneticguide": "PhoneticGuide", "date": "DateOnly", "datetime": "DateAndTime",
}
_REQUIRED = {"none": "None", "required": "ApplicationRequired", "applicationrequired": "ApplicationRequired",
             "systemrequired": "SystemRequired", "recommended": "Recommended"}
LOOKUP_TYPE_CODES = {1: "account", 2: "contact", 3: "opportunity", 4: "lead", 8: "systemuser", 9: "team",
                     10: "businessunit", 1019: "organization", 9105: "transactioncurrency"}
SYSTEM_LOOKUP_TARGETS = {
    "createdby": ("systemuser",), "modifiedby": ("systemuser",), "createdonbehalfby": ("systemuser",),
    "modifiedonbehalfby": ("systemuser",), "owninguser": ("systemuser",), "owningteam": ("team",),
    "owningbusinessunit": ("businessunit",), "ownerid": ("systemuser", "team"), "organizationid": ("organization",),
    "transactioncurrencyid": ("transactioncurrency",),
}


@dataclass(frozen=True)
class _Rel:
    name: str
    referencing: str
    referenced: str
    attribute: str
    navigation: str


def schema_from_solution(path: Path) -> Schema:
    """The tables and relationships an unpacked solution folder or a packed solution ``.zip`` defines."""
    path = Path(path)
    if path.is_file():
        return _from_zip(path)
    if not path.is_dir():
        raise UsageError(f"{path} is neither a solution folder nor a solution zip", path=str(path))
    return _from_folder(_solution_root(path))


def schema_from_customizations(root: etree._Element, source: str) -> Schema:
    """The schema a ``customizations.xml`` root (``ImportExportXml``) describes on its own."""
    return _assemble(root.findall("Entities/Entity"), root.findall("EntityRelationships/EntityRelationship"), {},
                     source)


def _solution_root(path: Path) -> Path:
    if (path / "Other").is_dir() or (path / "Entities").is_dir():
        return path
    found = sorted(p.parent.parent for p in path.glob("**/Other/Solution.xml"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError(f"{path} holds no unpacked solution (no Other/ or Entities/ folder)", path=str(path),
                         hint="point at the folder `pac solution unpack` wrote")
    raise UsageError(f"{path} holds {len(found)} unpacked solutions; point at one of them", path=str(path),
                     candidates=[str(p) for p in found])


def _from_zip(path: Path) -> Schema:
    with open_zip(path) as archive:
        members = safe_zip_members(archive, str(path))
        by_lower = {name.lower(): info for name, info in members.items()}
        info = by_lower.get("customizations.xml")
        if info is None:
            raise UsageError(f"{path} has no customizations.xml: not a solution zip", path=str(path))
        root = parse_xml(zip_member(archive, info, str(path)), f"{path}!customizations.xml")
    return schema_from_customizations(root, str(path))


def _from_folder(root: Path) -> Schema:
    entities: list[etree._Element] = []
    relationships: list[etree._Element] = []
    customizations = root / "Other" / "Customizations.xml"
    if customizations.is_file():
        custom = read_xml_file(customizations)
        entities += custom.findall("Entities/Entity")
        relationships += custom.findall("EntityRelationships/EntityRelationship")
    for entity_file in sorted((root / "Entities").glob("*/Entity.xml")):
        entities.append(read_xml_file(entity_file))
    for rel_file in sorted((root / "Other" / "Relationships").glob("*.xml")):
        relationships += read_xml_file(rel_file).findall("EntityRelationship")
    single = root / "Other" / "Relationships.xml"
    if single.is_file():
        relationships += read_xml_file(single).findall("EntityRelationship")
    global_options: dict[str, tuple[tuple[int, str], ...]] = {}
    for option_file in sorted((root / "OptionSets").glob("*.xml")):
        element = read_xml_file(option_file)
        global_options[(element.get("Name") or option_file.stem).lower()] = _options(element)
    return _assemble(entities, relationships, global_options, str(root))


def _label(element: etree._Element, path: str) -> str | None:
    labels = element.findall(path)
    for label in labels:
        if label.get("languagecode") == "1033":
            return label.get("description")
    return labels[0].get("description") if labels else None


def _options(optionset: etree._Element) -> tuple[tuple[int, str], ...]:
    out: list[tuple[int, str]] = []
    for option in [*optionset.findall("options/option"), *optionset.findall("states/state"),
                   *optionset.findall("statuses/status")]:
        value = option.get("value")
        if value is not None and value.lstrip("-").isdigit():
            out.append((int(value), _label(option, "labels/label") or option.get("invariantname") or value))
    return tuple(out)


def _relationships(elements: list[etree._Element]) -> tuple[list[_Rel], list[etree._Element]]:
    one_to_many: dict[str, _Rel] = {}
    many: dict[str, etree._Element] = {}
    for element in elements:
        kind = child_text(element, "EntityRelationshipType")
        name = element.get("Name", "")
        if kind == "OneToMany":
            navigation = ""
            for role in element.findall("EntityRelationshipRoles/EntityRelationshipRole"):
                if child_text(role, "RelationshipRoleType") == "1":
                    navigation = child_text(role, "NavigationPropertyName")
            one_to_many[name] = _Rel(
                name=name, referencing=child_text(element, "ReferencingEntityName").lower(),
                referenced=child_text(element, "ReferencedEntityName").lower(),
                attribute=child_text(element, "ReferencingAttributeName"), navigation=navigation,
            )
        elif kind == "ManyToMany":
            many[name] = element
    return [one_to_many[k] for k in sorted(one_to_many)], [many[k] for k in sorted(many)]


def _assemble(entities: list[etree._Element], rel_elements: list[etree._Element],
              global_options: dict[str, tuple[tuple[int, str], ...]], source: str) -> Schema:
    one_to_many, many = _relationships(rel_elements)
    by_column: dict[tuple[str, str], list[_Rel]] = defaultdict(list)
    for rel in one_to_many:
        by_column[(rel.referencing, rel.attribute.lower())].append(rel)
    tables: dict[str, Table] = {}
    for entity in entities:
        table = _table(entity, by_column, global_options, source)
        if table is not None:
            tables[table.name] = table
    rels = tuple(_many_to_many(element, tables) for element in many)
    return Schema(tables=tuple(tables.values()), many_to_many=rels)


def _table(entity: etree._Element, by_column: dict[tuple[str, str], list[_Rel]],
           global_options: dict[str, tuple[tuple[int, str], ...]], source: str) -> Table | None:
    info = entity.find("EntityInfo/entity")
    if info is None:
        return None
    schema_name = info.get("Name") or child_text(entity, "Name")
    if not schema_name:
        raise UsageError(f"{source}: an entity has no name", path=source)
    name = schema_name.lower()
    columns: list[Column] = []
    lookups: list[Lookup] = []
    primary_id = primary_name = None
    for attribute in info.findall("attributes/attribute"):
        column = _column(attribute, global_options)
        if column is None:
            continue
        if column.is_primary_id:
            primary_id = column.name
        if column.is_primary_name:
            primary_name = column.name
        if column.is_lookup:
            physical = attribute.get("PhysicalName") or column.name
            lookup = _lookup(name, column, physical, attribute, by_column.get((name, column.name), []))
            column = Column(**{**column.__dict__, "targets": lookup.targets})
            if lookup.to:
                lookups.append(lookup)
        columns.append(column)
    ownership = child_text(info, "OwnershipTypeMask", "UserOwned")
    otc = child_text(info, "ObjectTypeCode")
    return Table(
        name=name, entity_set=child_text(info, "EntitySetName") or entity_set_name(name),
        primary_id=primary_id or f"{name}id", primary_name=primary_name,
        columns=tuple(sorted(columns, key=lambda c: c.name)), lookups=tuple(sorted(lookups, key=lambda k: k.column)),
        keys=_keys(info), display_name=_label(info, "LocalizedNames/LocalizedName") or _localized_name(entity),
        ownership=ownership, is_custom="_" in name,
        change_tracking=child_text(info, "ChangeTrackingEnabled") == "1",
        object_type_code=int(otc) if otc.isdigit() else None,
    )


def _localized_name(entity: etree._Element) -> str | None:
    name = entity.find("Name")
    return name.get("LocalizedName") if name is not None else None


def _keys(info: etree._Element) -> tuple[AlternateKey, ...]:
    keys: list[AlternateKey] = []
    for key in info.findall("EntityKeys/EntityKey"):
        cols = tuple(child_text(a, ".").lower() for a in key.findall("EntityKeyAttributes/AttributeName"))
        if cols:
            keys.append(AlternateKey(name=(child_text(key, "LogicalName") or key.get("Name") or "").lower(),
                                     columns=cols))
    return tuple(keys)


def _column(attribute: etree._Element, global_options: dict[str, tuple[tuple[int, str], ...]]) -> Column | None:
    raw_type = child_text(attribute, "Type").lower()
    name = (child_text(attribute, "LogicalName") or child_text(attribute, "Name")).lower()
    if not raw_type or not name:
        return None
    type_ = _TYPES.get(raw_type, raw_type.capitalize())
    fmt = _FORMATS.get(child_text(attribute, "Format").lower())
    if type_ == "String" and fmt is None:
        fmt = "Text"
    max_length = child_text(attribute, "MaxLength")
    optionset = attribute.find("optionset")
    options = _options(optionset) if optionset is not None else ()
    if not options and child_text(attribute, "OptionSetName"):
        options = global_options.get(child_text(attribute, "OptionSetName").lower(), ())
    return Column(
        name=name, type=type_, format=fmt,
        required=_REQUIRED.get(child_text(attribute, "RequiredLevel").lower(), "None"),
        max_length=int(max_length) if max_length.isdigit() else None,
        is_primary_id=raw_type == "primarykey",
        is_primary_name="PrimaryName" in child_text(attribute, "DisplayMask").split("|"),
        is_custom=child_text(attribute, "IsCustomField") == "1",
        valid_for_create=child_text(attribute, "ValidForCreateApi", "1") == "1",
        valid_for_update=child_text(attribute, "ValidForUpdateApi", "1") == "1",
        display_name=_label(attribute, "displaynames/displayname"), options=options,
    )


def _default_navigation(column: Column, physical: str, target: str, polymorphic: bool) -> str:
    base = physical if column.is_custom else column.name
    if column.type == "Owner":
        return "ownerid" if column.name == "ownerid" else base
    return f"{base}_{target}" if polymorphic else base


def _lookup(table: str, column: Column, physical: str, attribute: etree._Element, rels: list[_Rel]) -> Lookup:
    pairs: list[tuple[str, str, str]] = []
    for rel in rels:
        targets = ("systemuser", "team") if rel.referenced == "owner" else (rel.referenced,)
        for target in targets:
            pairs.append((target, rel.navigation, rel.name))
    if not pairs:
        codes = [child_text(t, ".") for t in attribute.findall("LookupTypes/LookupType")]
        names = [LOOKUP_TYPE_CODES[int(c)] for c in codes if c.isdigit() and int(c) in LOOKUP_TYPE_CODES]
        names = names or list(SYSTEM_LOOKUP_TARGETS.get(column.name, ()))
        pairs = [(target, "", "") for target in names]
    polymorphic = len({t for t, _, _ in pairs}) > 1
    seen: dict[str, LookupTarget] = {}
    for target, navigation, rel_name in pairs:
        if target in seen:
            continue
        nav = navigation or _default_navigation(column, physical, target, polymorphic)
        seen[target] = LookupTarget(table=target, navigation_property=nav, relationship=rel_name)
    return Lookup(table=table, column=column.name, to=tuple(seen[k] for k in sorted(seen)),
                  required=column.is_required)


def _many_to_many(element: etree._Element, tables: dict[str, Table]) -> ManyToMany:
    first = child_text(element, "FirstEntityName").lower()
    second = child_text(element, "SecondEntityName").lower()
    navigation = {child_text(role, "AssociationRoleOrdinal"): child_text(role, "NavigationPropertyName")
                  for role in element.findall("EntityRelationshipRoles/EntityRelationshipRole")}
    name = element.get("Name", "")

    def primary(table: str) -> str:
        known = tables.get(table)
        return known.primary_id if known is not None else f"{table}id"

    column1, column2 = primary(first), primary(second)
    if column1 == column2:
        column1, column2 = f"{column1}one", f"{column2}two"
    return ManyToMany(
        name=name, table1=first, table2=second,
        intersect_table=(child_text(element, "IntersectEntityName") or name).lower(), column1=column1,
        column2=column2, navigation1=navigation.get("1", name), navigation2=navigation.get("2", name),
    )
