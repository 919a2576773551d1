"""Metadata from the one schema model: ``EntityDefinitions`` JSON and the CSDL ``$metadata`` document.

``EntityDefinitions`` rows carry the EntityMetadata properties of dataverse-protocol.md §8.1; the
navigation properties ``Attributes``, ``Keys``, ``ManyToOneRelationships``, ``OneToManyRelationships`` and
``ManyToManyRelationships`` appear only through ``$expand`` or as a path segment, as on the service.
Attributes carry their derived-type properties (``Targets``, ``MaxLength``, ``FormatName``...) with
``@odata.type``; a cast segment (``Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata``) filters
to that type. ``$select``/``$filter`` run through :mod:`seeder.odata`.
"""

from __future__ import annotations

import uuid
from typing import Any
from xml.sax.saxutils import quoteattr

from seeder.model import Column, Schema, Table

from .shape import NavIndex

__all__ = ["attribute_metadata", "csdl", "entity_metadata", "relationships"]

_NS = uuid.UUID("0b6f1e2a-7c1d-4f55-8a43-5d8e2f1c9a77")
_TYPE_NAMES = {
    "String": "StringType", "Memo": "MemoType", "Integer": "IntegerType", "BigInt": "BigIntType",
    "Decimal": "DecimalType", "Double": "DoubleType", "Money": "MoneyType", "Boolean": "BooleanType",
    "DateTime": "DateTimeType", "Uniqueidentifier": "UniqueidentifierType", "Lookup": "LookupType",
    "Customer": "CustomerType", "Owner": "OwnerType", "Picklist": "PicklistType", "State": "StateType",
    "Status": "StatusType", "EntityName": "EntityNameType", "Virtual": "VirtualType",
    "MultiSelectPicklist": "MultiSelectPicklistType", "PartyList": "PartyListType",
}
_DERIVED = {
    "String": "StringAttributeMetadata", "Memo": "MemoAttributeMetadata", "Integer": "IntegerAttributeMetadata",
    "BigInt": "BigIntAttributeMetadata", "Decimal": "DecimalAttributeMetadata", "Double": "DoubleAttributeMetadata",
    "Money": "MoneyAttributeMetadata", "Boolean": "BooleanAttributeMetadata", "DateTime": "DateTimeAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata", "Lookup": "LookupAttributeMetadata",
    "Customer": "LookupAttributeMetadata", "Owner": "LookupAttributeMetadata",
    "Picklist": "PicklistAttributeMetadata", "State": "StateAttributeMetadata", "Status": "StatusAttributeMetadata",
    "EntityName": "EntityNameAttributeMetadata", "MultiSelectPicklist": "MultiSelectPicklistAttributeMetadata",
}
_EDM = {
    "String": "Edm.String", "Memo": "Edm.String", "Integer": "Edm.Int32", "BigInt": "Edm.Int64",
    "Decimal": "Edm.Decimal", "Double": "Edm.Double", "Money": "Edm.Decimal", "Boolean": "Edm.Boolean",
    "DateTime": "Edm.DateTimeOffset", "Uniqueidentifier": "Edm.Guid", "Picklist": "Edm.Int32",
    "State": "Edm.Int32", "Status": "Edm.Int32", "EntityName": "Edm.String",
}


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def _label(text: str | None, *parts: str) -> dict[str, Any]:
    if not text:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    label = {"Label": text, "LanguageCode": 1033, "IsManaged": True, "MetadataId": _id("label", *parts),
             "HasChanged": None}
    return {"LocalizedLabels": [label], "UserLocalizedLabel": label}


def _managed(value: bool, name: str) -> dict[str, Any]:
    return {"Value": value, "CanBeChanged": True, "ManagedPropertyLogicalName": name}


def entity_metadata(table: Table, metadata_version: int = 1) -> dict[str, Any]:
    """EntityMetadata properties of one table (no navigation properties)."""
    return {
        "MetadataId": _id("entity", table.name),
        "LogicalName": table.name,
        "SchemaName": table.name if table.is_custom else table.name.capitalize(),
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": table.object_type_code,
        "IsIntersect": table.is_intersect,
        "IsActivity": table.primary_id == "activityid",
        "IsCustomEntity": table.is_custom,
        "IsManaged": not table.is_custom,
        "OwnershipType": table.ownership,
        "ChangeTrackingEnabled": table.change_tracking,
        "CanChangeTrackingBeEnabled": _managed(True, "canchangetrackingbeenabled"),
        "IsOptimisticConcurrencyEnabled": True,
        "IsValidForAdvancedFind": not table.is_intersect,
        "TableType": "Standard",
        "DisplayName": _label(table.display_name, table.name),
    }


def attribute_metadata(table: Table, col: Column) -> dict[str, Any]:
    """AttributeMetadata of one column, with the properties of its derived type."""
    derived = _DERIVED.get(col.type, "AttributeMetadata")
    out: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{derived}",
        "MetadataId": _id("attribute", table.name, col.name),
        "LogicalName": col.name,
        "SchemaName": col.name if col.is_custom else col.name.capitalize(),
        "EntityLogicalName": table.name,
        "AttributeType": col.type,
        "AttributeTypeName": {"Value": _TYPE_NAMES.get(col.type, f"{col.type}Type")},
        "IsValidForCreate": col.valid_for_create,
        "IsValidForUpdate": col.valid_for_update,
        "IsValidForRead": True,
        "IsCustomAttribute": col.is_custom,
        "IsPrimaryId": col.is_primary_id,
        "IsPrimaryName": col.is_primary_name,
        "AttributeOf": None,
        "IsLogical": False,
        "SourceType": 0,
        "RequiredLevel": _managed(False, "canmodifyrequirementlevelsettings") | {"Value": col.required},
        "DisplayName": _label(col.display_name, table.name, col.name),
    }
    if col.type in ("String", "Memo"):
        out["MaxLength"] = col.max_length
        out["Format"] = col.format
        out["FormatName"] = {"Value": col.format or "Text"}
    if col.is_lookup:
        out["Targets"] = list(col.targets)
    if col.type == "DateTime":
        out["Format"] = col.format or "DateAndTime"
    return out


def option_set(table: Table, col: Column) -> dict[str, Any]:
    return {
        "MetadataId": _id("optionset", table.name, col.name),
        "Name": f"{table.name}_{col.name}",
        "IsGlobal": False,
        "OptionSetType": col.type if col.type in ("State", "Status") else "Picklist",
        "Options": [{"Value": v, "Label": _label(text, table.name, col.name, str(v))} for v, text in col.options],
    }


def relationships(schema: Schema, navs: NavIndex, table: Table) -> dict[str, list[dict[str, Any]]]:
    """ManyToOne, OneToMany and ManyToMany relationship metadata of ``table``."""
    def rel_meta(child: Table, column: str, target: str, nav: str, rel: str) -> dict[str, Any]:
        parent = schema.get(target)
        return {
            "@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "MetadataId": _id("relationship", rel), "SchemaName": rel,
            "RelationshipType": "OneToManyRelationship", "IsCustomRelationship": child.is_custom,
            "ReferencedEntity": target, "ReferencedAttribute": parent.primary_id if parent else f"{target}id",
            "ReferencingEntity": child.name, "ReferencingAttribute": column,
            "ReferencingEntityNavigationPropertyName": nav, "ReferencedEntityNavigationPropertyName": rel,
            "IsHierarchical": target == child.name,
            "CascadeConfiguration": {"Assign": "NoCascade", "Delete": "RemoveLink", "Merge": "NoCascade",
                                     "Reparent": "NoCascade", "Share": "NoCascade", "Unshare": "NoCascade",
                                     "RollupView": "NoCascade"},
        }

    many_to_one: list[dict[str, Any]] = []
    one_to_many: list[dict[str, Any]] = []
    for other in schema.tables:
        for nav in navs.single.get(other.name, {}).values():
            for target in nav.targets:
                lk = other.lookup(nav.column)
                lt = lk.target(target) if lk else None
                rel = lt.relationship if lt and lt.relationship else f"{target}_{other.name}_{nav.column}"
                item = rel_meta(other, nav.column, target, nav.name, rel)
                if other.name == table.name:
                    many_to_one.append(item)
                if target == table.name:
                    one_to_many.append(item)
    many_to_many = [
        {"@odata.type": "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
         "MetadataId": _id("relationship", r.name), "SchemaName": r.name, "RelationshipType": "ManyToManyRelationship",
         "IntersectEntityName": r.intersect_table, "Entity1LogicalName": r.table1, "Entity2LogicalName": r.table2,
         "Entity1IntersectAttribute": r.column1, "Entity2IntersectAttribute": r.column2,
         "Entity1NavigationPropertyName": r.navigation1 or r.name,
         "Entity2NavigationPropertyName": r.navigation2 or r.name,
         "IsCustomRelationship": False}
        for r in schema.many_to_many if table.name in (r.table1, r.table2)
    ]
    key = lambda d: str(d["SchemaName"])  # noqa: E731
    return {"ManyToOneRelationships": sorted(many_to_one, key=key),
            "OneToManyRelationships": sorted(one_to_many, key=key),
            "ManyToManyRelationships": sorted(many_to_many, key=key)}


def keys_metadata(table: Table) -> list[dict[str, Any]]:
    return [{"@odata.type": "#Microsoft.Dynamics.CRM.EntityKeyMetadata", "MetadataId": _id("key", table.name, k.name),
             "SchemaName": k.name, "LogicalName": k.name.lower(), "EntityLogicalName": table.name,
             "KeyAttributes": list(k.columns), "EntityKeyIndexStatus": "Active"} for k in table.keys]


def csdl(schema: Schema, navs: NavIndex) -> str:
    """The CSDL ``$metadata`` XML of ``schema`` (entity types, keys, navigation properties, entity sets)."""
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
           "<edmx:DataServices>",
           '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
           '<EntityType Name="crmbaseentity" Abstract="true" />',
           '<EntityType Name="principal" BaseType="mscrm.crmbaseentity" Abstract="true" />']
    for table in schema.tables:
        base = "mscrm.principal" if table.name in ("systemuser", "team") else "mscrm.crmbaseentity"
        out.append(f"<EntityType Name={quoteattr(table.name)} BaseType={quoteattr(base)}>")
        out.append(f"<Key><PropertyRef Name={quoteattr(table.primary_id)} /></Key>")
        for col in table.columns:
            name = f"_{col.name}_value" if col.is_lookup else col.name
            edm = "Edm.Guid" if col.is_lookup else _EDM.get(col.type, "Edm.String")
            extra = ' Unicode="false"' if edm == "Edm.String" else ""
            out.append(f"<Property Name={quoteattr(name)} Type={quoteattr(edm)}{extra} />")
        for nav in navs.single.get(table.name, {}).values():
            typ = "mscrm.principal" if len(nav.targets) > 1 else f"mscrm.{nav.targets[0]}"
            target = schema.get(nav.targets[0])
            ref = target.primary_id if target and len(nav.targets) == 1 else "ownerid"
            out.append(f"<NavigationProperty Name={quoteattr(nav.name)} Type={quoteattr(typ)}>"
                       f"<ReferentialConstraint Property={quoteattr(f'_{nav.column}_value')} "
                       f"ReferencedProperty={quoteattr(ref)} /></NavigationProperty>")
        for coll in navs.collection.get(table.name, {}).values():
            partner = coll.name if coll.relationship is not None else None
            attr = f" Partner={quoteattr(partner)}" if partner else ""
            out.append(f"<NavigationProperty Name={quoteattr(coll.name)} "
                       f"Type={quoteattr(f'Collection(mscrm.{coll.other})')}{attr} />")
        if table.keys:
            out.append('<Annotation Term="OData.Community.Keys.V1.AlternateKeys"><Collection>')
            for key in table.keys:
                out.append('<Record Type="OData.Community.Keys.V1.AlternateKey"><PropertyValue Property="Key">'
                           "<Collection>")
                for col_name in key.columns:
                    out.append('<Record Type="OData.Community.Keys.V1.PropertyRef">'
                               f'<PropertyValue Property="Alias" String={quoteattr(col_name)} />'
                               f'<PropertyValue Property="Name" PropertyPath={quoteattr(col_name)} /></Record>')
                out.append("</Collection></PropertyValue></Record>")
            out.append("</Collection></Annotation>")
        out.append("</EntityType>")
    out.append('<EntityContainer Name="System">')
    for table in schema.tables:
        out.append(f"<EntitySet Name={quoteattr(table.entity_set)} "
                   f"EntityType={quoteattr('Microsoft.Dynamics.CRM.' + table.name)}>")
        if table.change_tracking:
            out.append('<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record>'
                       '<PropertyValue Property="Supported" Bool="true" /></Record></Annotation>')
        out.append("</EntitySet>")
    out.append("</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>")
    return "\n".join(out)
