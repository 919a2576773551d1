"""Navigation properties of every table, and the conversion of stored rows to Web API JSON.

``NavIndex`` derives from a :class:`Schema` what the Web API names but the model only implies:
single-valued navigation properties (``parentcustomerid_account`` → column ``parentcustomerid``, target
``account``; ``ownerid`` → systemuser|team) and collection-valued ones (1:N by relationship name, N:N by
the relationship's navigation names). ``to_record`` renders a stored row as Dataverse does: ``@odata.etag``
first, lookups as ``_x_value``, annotations only when the caller asked for them (``Prefer:
odata.include-annotations``).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seeder.model import LOOKUP_LOGICALNAME, Column, ManyToMany, Schema, Table, lookup_value_key

__all__ = ["Annotations", "CollectionNav", "NavIndex", "SingleNav", "format_value", "python_value"]

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
NAVPROP = "@Microsoft.Dynamics.CRM.associatednavigationproperty"


@dataclass(frozen=True)
class SingleNav:
    """A single-valued navigation property: writes ``column``, may point at ``targets``."""

    name: str
    table: str
    column: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class CollectionNav:
    """A collection-valued navigation property: 1:N (``column`` on ``other``) or N:N (``relationship``)."""

    name: str
    table: str
    other: str
    column: str = ""
    relationship: ManyToMany | None = None
    self_side: int = 1


def _lookup_targets(table: Table, col: Column) -> list[tuple[str, str]]:
    """(target table, nav property) pairs of a lookup column."""
    lk = table.lookup(col.name)
    if lk is not None and lk.to:
        return [(t.table, t.navigation_property or col.name) for t in lk.to]
    targets = col.targets
    if len(targets) == 1:
        return [(targets[0], col.name)]
    if col.type == "Owner":
        return [(t, col.name) for t in targets]
    return [(t, f"{col.name}_{t}") for t in targets]


@dataclass
class NavIndex:
    """Navigation properties per table."""

    single: dict[str, dict[str, SingleNav]] = field(default_factory=dict)
    collection: dict[str, dict[str, CollectionNav]] = field(default_factory=dict)
    by_column: dict[str, dict[str, list[SingleNav]]] = field(default_factory=dict)

    @classmethod
    def build(cls, schema: Schema) -> NavIndex:
        index = cls()
        for table in schema.tables:
            singles = index.single.setdefault(table.name, {})
            for col in table.columns:
                if not col.is_lookup:
                    continue
                for target, nav in _lookup_targets(table, col):
                    prev = singles.get(nav)
                    targets = (*prev.targets, target) if prev else (target,)
                    singles[nav] = SingleNav(nav, table.name, col.name, targets)
                    lk = table.lookup(col.name)
                    lt = lk.target(target) if lk else None
                    rel = lt.relationship if lt and lt.relationship else f"{target}_{table.name}_{col.name}"
                    index.collection.setdefault(target, {})[rel] = CollectionNav(
                        rel, target, table.name, column=col.name)
            for single in singles.values():
                index.by_column.setdefault(table.name, {}).setdefault(single.column, []).append(single)
        for n2n in schema.many_to_many:
            nav1 = n2n.navigation1 or n2n.name
            nav2 = n2n.navigation2 or n2n.name
            index.collection.setdefault(n2n.table1, {})[nav1] = CollectionNav(
                nav1, n2n.table1, n2n.table2, relationship=n2n, self_side=1)
            if not (n2n.table1 == n2n.table2 and nav1 == nav2):
                index.collection.setdefault(n2n.table2, {})[nav2] = CollectionNav(
                    nav2, n2n.table2, n2n.table1, relationship=n2n, self_side=2)
        return index

    def nav_for(self, table: str, column: str, target: str | None) -> str | None:
        """The navigation property that writes ``column`` pointing at ``target``."""
        for nav in self.by_column.get(table, {}).get(column, []):
            if target is None or target in nav.targets:
                return nav.name
        return None


@dataclass(frozen=True)
class Annotations:
    """Which ``Prefer: odata.include-annotations`` names the caller asked for."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str | None) -> Annotations:
        if not value:
            return cls()
        return cls(tuple(p.strip().strip('"') for p in value.strip().strip('"').split(",") if p.strip()))

    def wants(self, term: str) -> bool:
        term = term.lstrip("@")
        return any(fnmatch.fnmatchcase(term, p) for p in self.patterns)

    @property
    def header(self) -> str:
        return 'odata.include-annotations="' + ",".join(self.patterns) + '"'


def python_value(col: Column, raw: Any) -> Any:
    """Stored value → Web API JSON value."""
    if raw is None:
        return None
    if col.type == "Boolean":
        return bool(raw)
    if col.type in ("Integer", "BigInt", "Picklist", "State", "Status"):
        return int(raw)
    if col.type in ("Decimal", "Double", "Money"):
        return float(raw)
    return raw


def format_value(col: Column, value: Any) -> str | None:
    """The ``FormattedValue`` Dataverse shows for a column value (labels, Yes/No, currency, dates)."""
    if value is None:
        return None
    if col.options:
        for option, label in col.options:
            if option == value:
                return label
    if col.type == "Boolean":
        return "Yes" if value else "No"
    if col.type == "Money":
        return f"${float(value):,.2f}"
    if col.type in ("Integer", "BigInt"):
        return f"{int(value):,}"
    if col.type == "DateTime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if col.format == "DateOnly":
            return f"{moment.month}/{moment.day}/{moment.year}"
        hour = moment.hour % 12 or 12
        ampm = "AM" if moment.hour < 12 else "PM"
        return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {ampm}"
    return None


def to_record(
    table: Table,
    columns: tuple[Column, ...],
    row: dict[str, Any],
    select: list[str] | None,
    annotations: Annotations,
    navs: NavIndex,
    names: dict[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """A stored row in the Web API shape. ``names`` maps (table, id) to primary names for lookup labels."""
    out: dict[str, Any] = {"@odata.etag": f'W/"{row["__v"]}"'}
    wanted = set(select) if select else None
    if wanted is not None and any(c.type == "Money" and c.name in wanted for c in columns):
        # A selected currency column brings the record's currency with it (learn.microsoft.com/power-apps/
        # developer/data-platform/webapi/query/select-columns: $select=name,revenue also returns
        # _transactioncurrencyid_value).
        wanted.add(lookup_value_key("transactioncurrencyid"))
    for col in columns:
        key = lookup_value_key(col.name) if col.is_lookup else col.name
        if wanted is not None and key not in wanted and col.name != table.primary_id:
            continue
        raw = row.get(col.name)
        value = python_value(col, raw)
        if col.is_lookup:
            target = row.get(col.name + "__lt")
            if value is not None and target:
                if annotations.wants("OData.Community.Display.V1.FormattedValue") and names is not None:
                    label = names.get((str(target), str(value)))
                    if label is not None:
                        out[key + FORMATTED] = label
                if annotations.wants("Microsoft.Dynamics.CRM.associatednavigationproperty"):
                    nav = navs.nav_for(table.name, col.name, str(target))
                    if nav:
                        out[key + NAVPROP] = nav
                if annotations.wants("Microsoft.Dynamics.CRM.lookuplogicalname"):
                    out[key + LOOKUP_LOGICALNAME] = target
            out[key] = value
            continue
        if annotations.wants("OData.Community.Display.V1.FormattedValue"):
            label = format_value(col, value)
            if label is not None:
                out[key + FORMATTED] = label
        out[key] = value
    return out
