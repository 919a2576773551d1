"""The vocabulary every layer shares: tables, columns, lookups, relationships and organisations.

Frozen dataclasses with no I/O. A :class:`Schema` is what a Dataverse environment, a snapshot's
``schema.json``, a CMT ``data_schema.xml`` or an unpacked solution describes; the plan, the masker,
the exporter and the restorer all read it. ``Schema.to_dict`` / ``Schema.from_dict`` are the
``schema.json`` shape.

Records travel in the Web API's own JSON shape (``Record``): plain columns by logical name, lookups as
``_<column>_value`` with the ``@Microsoft.Dynamics.CRM.lookuplogicalname`` annotation naming the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

__all__ = [
    "COMPONENT_TABLES",
    "LOOKUP_LOGICALNAME",
    "REFERENCE_TABLES",
    "SERVICE_TABLES",
    "AlternateKey",
    "Column",
    "Lookup",
    "LookupTarget",
    "ManyToMany",
    "OrgInfo",
    "Record",
    "Schema",
    "Table",
    "lookup_value_key",
]

Record = dict[str, Any]
"""One row in the Web API's JSON shape."""

LOOKUP_LOGICALNAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
"""Annotation suffix that names the target table of a ``_x_value`` lookup property."""

COMPONENT_TABLES = (
    "canvasapp", "connectionreference", "connector", "environmentvariabledefinition",
    "environmentvariablevalue", "solution", "solutioncomponent", "workflow",
)
"""Tables that carry Power Platform solution components as data."""

REFERENCE_TABLES = frozenset({"organization", "businessunit", "systemuser", "team", "transactioncurrency"})
"""Tables that differ between environments by nature: matched in a target, never copied into it."""

SERVICE_TABLES = frozenset({
    "asyncoperation", "importjob", "audit", "bulkdeleteoperation", "bulkdeletefailure", "duplicaterecord",
    "plugintracelog", "principalobjectaccess", "tracelog", "workflowlog", "processsession", "importlog",
})
"""Tables the service writes for itself (jobs, logs, audit, sharing records): never exported by default."""

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
"""Attribute types whose values point at another row."""

NON_PRODUCTION_TYPES = frozenset({"sandbox", "developer", "trial", "subscriptionbasedtrial", "teams"})
"""Power Platform environment types that seeder writes into without ``--allow-production``."""

REQUIRED_LEVELS = frozenset({"SystemRequired", "ApplicationRequired"})


def lookup_value_key(column: str) -> str:
    """The Web API property that carries a lookup's GUID: ``parentcustomerid`` → ``_parentcustomerid_value``."""
    return f"_{column}_value"


@dataclass(frozen=True)
class Column:
    """One attribute of a table.

    ``type`` is Dataverse's AttributeType (String, Memo, Integer, BigInt, Decimal, Double, Money,
    Boolean, DateTime, Uniqueidentifier, Lookup, Customer, Owner, Picklist, State, Status, EntityName,
    Virtual, ...). ``format`` is the string/date format (Email, Phone, Url, Text, TextArea, DateOnly,
    DateAndTime, ...). ``required`` is the RequiredLevel (None, Recommended, ApplicationRequired,
    SystemRequired).
    """

    name: str
    type: str
    format: str | None = None
    required: str = "None"
    max_length: int | None = None
    targets: tuple[str, ...] = ()
    is_primary_id: bool = False
    is_primary_name: bool = False
    is_custom: bool = False
    valid_for_create: bool = True
    valid_for_update: bool = True
    display_name: str | None = None
    options: tuple[tuple[int, str], ...] = ()

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def is_required(self) -> bool:
        return self.required in REQUIRED_LEVELS


@dataclass(frozen=True)
class LookupTarget:
    """One table a lookup may point at, with the single-valued navigation property used in ``@odata.bind``."""

    table: str
    navigation_property: str
    relationship: str = ""


@dataclass(frozen=True)
class Lookup:
    """A lookup column (a many-to-one relationship), polymorphic when it has several targets."""

    table: str
    column: str
    to: tuple[LookupTarget, ...]
    required: bool = False

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(t.table for t in self.to)

    def target(self, table: str) -> LookupTarget | None:
        for t in self.to:
            if t.table == table:
                return t
        return None


@dataclass(frozen=True)
class ManyToMany:
    """An N:N relationship, stored in ``intersect_table`` as pairs of ``column1`` and ``column2``."""

    name: str
    table1: str
    table2: str
    intersect_table: str
    column1: str
    column2: str
    navigation1: str = ""
    navigation2: str = ""


@dataclass(frozen=True)
class AlternateKey:
    """An alternate key: the columns that identify a row without its GUID."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """One Dataverse table (entity)."""

    name: str
    entity_set: str
    primary_id: str
    primary_name: str | None = None
    columns: tuple[Column, ...] = ()
    lookups: tuple[Lookup, ...] = ()
    keys: tuple[AlternateKey, ...] = ()
    display_name: str | None = None
    ownership: str = "UserOwned"
    is_custom: bool = False
    is_intersect: bool = False
    change_tracking: bool = True
    object_type_code: int | None = None

    @cached_property
    def _columns_by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column | None:
        return self._columns_by_name.get(name)

    def lookup(self, column: str) -> Lookup | None:
        for lk in self.lookups:
            if lk.column == column:
                return lk
        return None

    @property
    def has_state(self) -> bool:
        return "statecode" in self._columns_by_name


@dataclass(frozen=True)
class Schema:
    """A set of tables and N:N relationships, sorted by name so that everything derived is deterministic."""

    tables: tuple[Table, ...] = ()
    many_to_many: tuple[ManyToMany, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(sorted(self.tables, key=lambda t: t.name)))
        object.__setattr__(self, "many_to_many", tuple(sorted(self.many_to_many, key=lambda r: r.name)))

    @cached_property
    def _by_name(self) -> dict[str, Table]:
        return {t.name: t for t in self.tables}

    @cached_property
    def _by_entity_set(self) -> dict[str, Table]:
        return {t.entity_set: t for t in self.tables}

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)

    def table(self, name: str) -> Table:
        """The table named ``name``; ``KeyError`` when the schema has none."""
        return self._by_name[name]

    def get(self, name: str) -> Table | None:
        return self._by_name.get(name)

    def by_entity_set(self, entity_set: str) -> Table | None:
        return self._by_entity_set.get(entity_set)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def select(self, names: list[str] | tuple[str, ...] | set[str] | None) -> Schema:
        """The same schema restricted to ``names`` (all tables when ``None``); N:N kept when both sides stay."""
        if names is None:
            return self
        keep = set(names)
        tables = tuple(t for t in self.tables if t.name in keep)
        n2n = tuple(r for r in self.many_to_many if r.table1 in keep and r.table2 in keep)
        return Schema(tables=tables, many_to_many=n2n)

    def merge(self, other: Schema) -> Schema:
        """Tables of both; where both define a table, ``other`` wins."""
        tables = {t.name: t for t in self.tables}
        tables.update({t.name: t for t in other.tables})
        rels = {r.name: r for r in self.many_to_many}
        rels.update({r.name: r for r in other.many_to_many})
        return Schema(tables=tuple(tables.values()), many_to_many=tuple(rels.values()))

    # -- schema.json -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The ``schema.json`` shape: plain JSON types only, sorted."""
        return {
            "tables": [_table_to_dict(t) for t in self.tables],
            "many_to_many": [_dataclass_dict(r) for r in self.many_to_many],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        tables = tuple(_table_from_dict(t) for t in data.get("tables", []))
        rels = tuple(ManyToMany(**r) for r in data.get("many_to_many", []))
        return cls(tables=tables, many_to_many=rels)


@dataclass(frozen=True)
class OrgInfo:
    """Facts about one Dataverse organisation (environment)."""

    organization_id: str
    name: str
    url: str
    version: str = ""
    environment_type: str = "Sandbox"
    user_id: str = ""
    business_unit_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment_type.lower() == "production"

    @property
    def needs_override(self) -> bool:
        """True unless the environment is known not to be production: writing into it needs an explicit
        ``--allow-production`` (production, the default environment, and any type that could not be read)."""
        return self.environment_type.lower() not in NON_PRODUCTION_TYPES


def _dataclass_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__dataclass_fields__:
        value = getattr(obj, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _table_to_dict(t: Table) -> dict[str, Any]:
    d = _dataclass_dict(t)
    d["columns"] = [
        {**_dataclass_dict(c), "options": [list(o) for o in c.options], "targets": list(c.targets)}
        for c in t.columns
    ]
    d["lookups"] = [
        {"table": lk.table, "column": lk.column, "required": lk.required,
         "to": [_dataclass_dict(x) for x in lk.to]}
        for lk in t.lookups
    ]
    d["keys"] = [{"name": k.name, "columns": list(k.columns)} for k in t.keys]
    return d


def _table_from_dict(d: dict[str, Any]) -> Table:
    columns = tuple(
        Column(**{**c, "targets": tuple(c.get("targets", ())),
                  "options": tuple((int(v), str(label)) for v, label in c.get("options", ()))})
        for c in d.get("columns", [])
    )
    lookups = tuple(
        Lookup(table=lk["table"], column=lk["column"], required=lk.get("required", False),
               to=tuple(LookupTarget(**x) for x in lk.get("to", [])))
        for lk in d.get("lookups", [])
    )
    keys = tuple(AlternateKey(name=k["name"], columns=tuple(k["columns"])) for k in d.get("keys", []))
    scalars = {k: v for k, v in d.items() if k not in {"columns", "lookups", "keys"}}
    return Table(**scalars, columns=columns, lookups=lookups, keys=keys)
