"""Compact table specifications for the built-in schema, and the shared helpers that turn them into model objects.

A table is written as a :class:`TableSpec`: columns are short tuples ``(name, type, format, required)``,
lookups are ``(column, type, required, ((target, navigation, relationship), ...))`` and choices are
``(column, ((value, label), ...))``. The standard system columns (created/modified by and on, owner,
owning business unit, version number) are added by :func:`build_table` according to the ownership, with
the relationship names Dataverse gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

from seeder.model import AlternateKey, Column, Lookup, LookupTarget, Table

__all__ = [
    "ColumnSpec",
    "LookupSpec",
    "TableSpec",
    "build_table",
    "entity_set_name",
    "status_states",
]

ColumnSpec = tuple[str, str, str | None, str]
"""(logical name, AttributeType, format or None, RequiredLevel)."""

LookupSpec = tuple[str, str, str, tuple[tuple[str, str, str], ...]]
"""(column, Lookup|Customer|Owner, RequiredLevel, ((target table, navigation property, relationship), ...))."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    entity_set: str
    primary_id: str
    primary_name: str | None
    display_name: str
    ownership: str = "UserOwned"
    object_type_code: int | None = None
    columns: tuple[ColumnSpec, ...] = ()
    lookups: tuple[LookupSpec, ...] = ()
    options: tuple[tuple[str, tuple[tuple[int, str], ...]], ...] = ()
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    read_only: tuple[str, ...] = ()
    states: tuple[tuple[int, str], ...] = ()
    statuses: tuple[tuple[int, int, str], ...] = ()
    """(statuscode, statecode it belongs to, label); the first status of a state is its default."""
    system_columns: bool = True
    is_intersect: bool = False


def status_states(spec: TableSpec) -> dict[int, int]:
    """statuscode → statecode for one table."""
    return {status: state for status, state, _ in spec.statuses}


def entity_set_name(logical_name: str) -> str:
    """Dataverse's default collection name for a table without one given: English plural of the logical name."""
    if logical_name.endswith(("s", "x", "z", "ch", "sh")):
        return logical_name + "es"
    if logical_name.endswith("y") and len(logical_name) > 1 and logical_name[-2] not in "aeiou":
        return logical_name[:-1] + "ies"
    return logical_name + "s"


def _system_lookups(spec: TableSpec) -> list[LookupSpec]:
    t = spec.name
    out: list[LookupSpec] = [
        ("createdby", "Lookup", "None", (("systemuser", "createdby", f"lk_{t}_createdby"),)),
        ("modifiedby", "Lookup", "None", (("systemuser", "modifiedby", f"lk_{t}_modifiedby"),)),
        ("createdonbehalfby", "Lookup", "None", (("systemuser", "createdonbehalfby", f"lk_{t}_createdonbehalfby"),)),
        ("modifiedonbehalfby", "Lookup", "None",
         (("systemuser", "modifiedonbehalfby", f"lk_{t}_modifiedonbehalfby"),)),
    ]
    if spec.ownership == "UserOwned":
        out += [
            ("ownerid", "Owner", "SystemRequired",
             (("systemuser", "ownerid", f"owner_{t}s"), ("team", "ownerid", f"owner_{t}s"))),
            ("owningbusinessunit", "Lookup", "None", (("businessunit", "owningbusinessunit", f"business_unit_{t}"),)),
            ("owninguser", "Lookup", "None", (("systemuser", "owninguser", f"user_{t}"),)),
            ("owningteam", "Lookup", "None", (("team", "owningteam", f"team_{t}"),)),
        ]
    return out


_READ_ONLY_SYSTEM = frozenset({
    "createdby", "modifiedby", "createdonbehalfby", "modifiedonbehalfby", "owningbusinessunit", "owninguser",
    "owningteam", "createdon", "modifiedon", "versionnumber",
})


def build_table(spec: TableSpec) -> Table:
    """The model :class:`Table` for one compact specification."""
    options = dict(spec.options)
    read_only = set(spec.read_only)
    columns: list[Column] = [
        Column(name=spec.primary_id, type="Uniqueidentifier", required="SystemRequired", is_primary_id=True,
               valid_for_update=False)
    ]
    lookups: list[LookupSpec] = list(spec.lookups)
    if spec.system_columns:
        lookups += _system_lookups(spec)
    plain = list(spec.columns)
    if spec.system_columns:
        plain += [("createdon", "DateTime", "DateAndTime", "None"), ("modifiedon", "DateTime", "DateAndTime", "None"),
                  ("versionnumber", "BigInt", None, "None")]
    if spec.states:
        plain += [("statecode", "State", None, "SystemRequired"), ("statuscode", "Status", None, "None")]
        options["statecode"] = spec.states
        options["statuscode"] = tuple((v, label) for v, _, label in spec.statuses)
    for name, type_, fmt, required in plain:
        writable = name not in read_only and name not in _READ_ONLY_SYSTEM
        columns.append(Column(
            name=name, type=type_, format=fmt, required=required, is_primary_name=name == spec.primary_name,
            max_length=_max_length(type_, fmt), options=options.get(name, ()),
            valid_for_create=writable, valid_for_update=writable and name != spec.primary_id,
        ))
    model_lookups: list[Lookup] = []
    for column, type_, required, targets in lookups:
        writable = column not in read_only and column not in _READ_ONLY_SYSTEM
        columns.append(Column(name=column, type=type_, required=required, targets=tuple(t for t, _, _ in targets),
                              valid_for_create=writable, valid_for_update=writable))
        model_lookups.append(Lookup(
            table=spec.name, column=column, required=required in ("SystemRequired", "ApplicationRequired"),
            to=tuple(LookupTarget(table=t, navigation_property=nav, relationship=rel) for t, nav, rel in targets),
        ))
    return Table(
        name=spec.name, entity_set=spec.entity_set, primary_id=spec.primary_id, primary_name=spec.primary_name,
        columns=tuple(sorted(columns, key=lambda c: c.name)),
        lookups=tuple(sorted(model_lookups, key=lambda k: k.column)),
        keys=tuple(AlternateKey(name=n, columns=c) for n, c in spec.keys), display_name=spec.display_name,
        ownership=spec.ownership, is_intersect=spec.is_intersect, object_type_code=spec.object_type_code,
    )


def _max_length(type_: str, fmt: str | None) -> int | None:
    if type_ == "String":
        return {"Email": 100, "Phone": 50, "Url": 200}.get(fmt or "", 200)
    if type_ == "Memo":
        return 1_048_576 if fmt == "Json" else 100_000
    return None
