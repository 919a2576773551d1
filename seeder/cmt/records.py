"""One record between its CMT form (:class:`CmtRecord`) and the Web API JSON shape (``Record``).

Lookups become ``_x_value`` with the ``@Microsoft.Dynamics.CRM.lookuplogicalname`` annotation naming the
target table; CMT's ``lookupentityname`` (the target's primary name, CMT's fallback when the id is not
found) travels as the ``@OData.Community.Display.V1.FormattedValue`` annotation and comes back out of it.
Every value that cannot be carried is appended to ``dropped`` with table, column and record id; nothing is
skipped without an entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from seeder.cmt.data_xml import CmtDataField, CmtRecord
from seeder.cmt.report import CmtIssue
from seeder.cmt.schema_xml import CmtEntity
from seeder.cmt.values import (
    ATTRIBUTE_TYPE_BY_CMT,
    LOOKUP_CMT_TYPES,
    NOT_CARRIED_TYPES,
    decode_value,
    encode_value,
    normalise_guid,
    xml_compatible,
)
from seeder.model import LOOKUP_LOGICALNAME, Record, lookup_value_key

__all__ = ["FORMATTED_VALUE", "record_from_cmt", "record_to_cmt"]

FORMATTED_VALUE = "@OData.Community.Display.V1.FormattedValue"


def record_from_cmt(
    entity: CmtEntity, rec: CmtRecord, dropped: list[CmtIssue], warnings: list[CmtIssue]
) -> Record | None:
    """The Web API record for a CMT record; ``None`` (and a dropped entry) when its id is not a GUID."""
    table = entity.name
    try:
        record_id = normalise_guid(rec.id)
    except ValueError:
        dropped.append(CmtIssue(table, entity.primary_id, rec.id, "record id is not a GUID: record not carried"))
        return None
    out: Record = {entity.primary_id: record_id}
    for f in rec.fields:
        declared = entity.field(f.name)

        def drop(reason: str, column: str = f.name) -> None:
            dropped.append(CmtIssue(table, column, record_id, reason))

        if declared is None:
            drop("field is not declared in data_schema.xml")
            continue
        kind = declared.type
        if kind not in ATTRIBUTE_TYPE_BY_CMT:
            drop(f"unknown CMT field type {kind!r}")
            continue
        if f.has_parties or kind in NOT_CARRIED_TYPES:
            drop(f"{kind} values are not carried")
            continue
        if f.value is None:
            drop("field has no value attribute")
            continue
        if kind in LOOKUP_CMT_TYPES:
            _lookup_from_cmt(declared.lookup_types, f, out, drop, warnings, table, record_id)
            continue
        try:
            value = decode_value(kind, f.value)
        except ValueError as exc:
            drop(f"unparsable {kind} value: {exc}")
            continue
        if f.name == entity.primary_id:
            if value != record_id:
                warnings.append(
                    CmtIssue(table, f.name, record_id, f"primary key field {value} differs from record id; id kept")
                )
            continue
        out[f.name] = value
    return out


def _lookup_from_cmt(
    declared_targets: tuple[str, ...],
    f: CmtDataField,
    out: Record,
    drop: Any,
    warnings: list[CmtIssue],
    table: str,
    record_id: str,
) -> None:
    try:
        target_id = normalise_guid(f.value or "")
    except ValueError:
        drop(f"lookup value {f.value!r} is not a GUID")
        return
    target = f.lookup_entity or ""
    if not target:
        if len(declared_targets) != 1:
            drop("lookup has no lookupentity and its lookupType does not name one table")
            return
        target = declared_targets[0]
        warnings.append(CmtIssue(table, f.name, record_id, f"lookup had no lookupentity; {target} from lookupType"))
    elif declared_targets and target not in declared_targets:
        declared = "|".join(declared_targets)
        warnings.append(CmtIssue(table, f.name, record_id, f"lookup target {target} is not in lookupType {declared}"))
    key = lookup_value_key(f.name)
    out[key] = target_id
    out[key + LOOKUP_LOGICALNAME] = target
    if f.lookup_name:  # CMT omits it (or we write it empty) when the target's name is unknown
        out[key + FORMATTED_VALUE] = f.lookup_name


def record_to_cmt(
    entity: CmtEntity,
    record: Mapping[str, Any],
    dropped: list[CmtIssue],
    nameless: Counter[tuple[str, str]],
    names: Mapping[str, str] | None = None,
) -> CmtRecord | None:
    """The CMT record for a Web API record; ``None`` (and a dropped entry) when it has no usable id.

    ``names`` maps record ids to primary names, used for ``lookupentityname`` when the record carries no
    formatted value; lookups written with an empty name are counted in ``nameless`` per (table, column).
    """
    table = entity.name
    raw_id = record.get(entity.primary_id)
    try:
        record_id = normalise_guid(str(raw_id))
    except ValueError:
        dropped.append(CmtIssue(table, entity.primary_id, str(raw_id), "record has no GUID primary key: not carried"))
        return None
    used: set[str] = set()
    fields: list[CmtDataField] = []
    for f in entity.fields:
        if f.type in LOOKUP_CMT_TYPES:
            key = lookup_value_key(f.name)
            used.add(key)
            value = record.get(key)
            if value is None:
                continue
            target = record.get(key + LOOKUP_LOGICALNAME)
            if not target and len(f.lookup_types) == 1:
                target = f.lookup_types[0]
            if not target:
                dropped.append(CmtIssue(table, f.name, record_id, "lookup value has no target table annotation"))
                continue
            try:
                target_id = normalise_guid(str(value))
            except ValueError:
                dropped.append(CmtIssue(table, f.name, record_id, f"lookup value {value!r} is not a GUID"))
                continue
            name = record.get(key + FORMATTED_VALUE)
            if name is None and names is not None:
                name = names.get(target_id)
            if not isinstance(name, str) or not xml_compatible(name):
                name = None
            if name is None:
                nameless[(table, f.name)] += 1
            fields.append(CmtDataField(f.name, target_id, lookup_entity=str(target), lookup_name=str(name or "")))
            continue
        used.add(f.name)
        if f.name == entity.primary_id:
            fields.append(CmtDataField(f.name, record_id))
            continue
        value = record.get(f.name)
        if value is None:
            continue
        try:
            fields.append(CmtDataField(f.name, encode_value(f.type, value)))
        except ValueError as exc:
            dropped.append(CmtIssue(table, f.name, record_id, f"{f.type} value not representable: {exc}"))
    for key, value in record.items():
        if "@" in key or key in used or key == entity.primary_id or value is None:
            continue
        column = key[1:-6] if key.startswith("_") and key.endswith("_value") else key
        dropped.append(CmtIssue(table, column, record_id, "column has no field in the CMT schema"))
    return CmtRecord(id=record_id, fields=tuple(fields))
