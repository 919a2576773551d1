"""The built-in schema: the standard CRM core plus the Power Platform component tables, with their N:N
relationships (``teammembership_association`` through the ``teammembership`` intersect table, and
``accountleads_association`` through ``accountleads``).

The table data lives in :mod:`seeder.metadata.crm_tables` and :mod:`seeder.metadata.crm_components`.
"""

from __future__ import annotations

from functools import cache

from seeder.metadata._build import TableSpec, build_table, status_states
from seeder.metadata.crm_components import COMPONENT_TABLES, COMPONENT_TYPES
from seeder.metadata.crm_tables import CRM_TABLES
from seeder.model import Column, ManyToMany, Schema, Table

__all__ = ["COMPONENT_TYPES", "CRM_CORE_TABLES", "CRM_MANY_TO_MANY", "crm_core_schema", "crm_status_states"]

CRM_MANY_TO_MANY: tuple[ManyToMany, ...] = (
    ManyToMany(name="teammembership_association", table1="systemuser", table2="team", intersect_table="teammembership",
               column1="systemuserid", column2="teamid", navigation1="teammembership_association",
               navigation2="teammembership_association"),
    ManyToMany(name="accountleads_association", table1="account", table2="lead", intersect_table="accountleads",
               column1="accountid", column2="leadid", navigation1="accountleads_association",
               navigation2="accountleads_association"),
)

_SPECS: tuple[TableSpec, ...] = CRM_TABLES + COMPONENT_TABLES
CRM_CORE_TABLES: tuple[str, ...] = tuple(sorted(s.name for s in _SPECS))


def _intersect(rel: ManyToMany, primary_id: str, otc: int) -> Table:
    columns = (
        Column(name=primary_id, type="Uniqueidentifier", required="SystemRequired", is_primary_id=True,
               valid_for_create=False, valid_for_update=False),
        Column(name=rel.column1, type="Uniqueidentifier", required="SystemRequired", valid_for_create=False,
               valid_for_update=False),
        Column(name=rel.column2, type="Uniqueidentifier", required="SystemRequired", valid_for_create=False,
               valid_for_update=False),
        Column(name="versionnumber", type="BigInt", valid_for_create=False, valid_for_update=False),
    )
    return Table(name=rel.intersect_table, entity_set=f"{rel.intersect_table}set", primary_id=primary_id,
                 columns=columns, ownership="None", is_intersect=True, object_type_code=otc,
                 display_name=rel.intersect_table)


@cache
def crm_core_schema() -> Schema:
    """The standard CRM core and Power Platform component tables, with real names, types and relationships."""
    tables = [build_table(spec) for spec in _SPECS]
    tables.append(_intersect(CRM_MANY_TO_MANY[0], "teammembershipid", 23))
    tables.append(_intersect(CRM_MANY_TO_MANY[1], "accountleadid", 16))
    return Schema(tables=tuple(tables), many_to_many=CRM_MANY_TO_MANY)


def crm_status_states(table: str) -> dict[int, int]:
    """statuscode → statecode for a built-in table (empty when the table has no state)."""
    for spec in _SPECS:
        if spec.name == table:
            return status_states(spec)
    return {}
