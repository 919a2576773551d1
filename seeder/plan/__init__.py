"""The restore plan: a referentially consistent order for writing a selection of tables.

Pure (no I/O). ``build_plan(schema, tables, outside=...)`` returns a :class:`Plan` of ``upsert``,
``link``, ``associate`` and ``set-state`` steps; ``render_text`` / ``render_dot`` / ``render_mermaid``
(and ``Plan.to_dict`` for JSON) show it; ``parent_first`` orders the rows of a self-referencing table.
"""

from __future__ import annotations

from seeder.plan.builder import OUTSIDE_POLICIES, build_plan
from seeder.plan.graph import Edge, GraphLookup, TableGraph, find_required_cycles, table_graph
from seeder.plan.records import ParentOrder, parent_first
from seeder.plan.render import render, render_dot, render_json, render_mermaid, render_text
from seeder.plan.steps import ACTIONS, Action, Deferral, OutsideLookup, Plan, PlanLookup, Step

__all__ = [
    "ACTIONS",
    "OUTSIDE_POLICIES",
    "Action",
    "Deferral",
    "Edge",
    "GraphLookup",
    "OutsideLookup",
    "ParentOrder",
    "Plan",
    "PlanLookup",
    "Step",
    "TableGraph",
    "build_plan",
    "find_required_cycles",
    "parent_first",
    "render",
    "render_dot",
    "render_json",
    "render_mermaid",
    "render_text",
    "table_graph",
]
