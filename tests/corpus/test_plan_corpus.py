"""build_plan on real schemas: the Copilot Studio Kit solution, the Capgemini portal schema, CMT packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeder.errors import PlanError
from seeder.model import Schema
from seeder.plan import Plan, build_plan, render_dot, render_mermaid, render_text

metadata = pytest.importorskip("seeder.metadata")

CSK = "copilot-studio-kit/CopilotStudioAccelerator/SolutionPackage/src"
PORTALS = "capgemini-xrm-datamigration/samples/DemoScenarios/CrmPortals/Schema.xml"


def check_plan(schema: Schema, plan: Plan) -> None:
    """Every kept lookup points at an earlier table or is self-ordered; deferrals are nullable."""
    position = {t: i for i, t in enumerate(plan.order)}
    for step in plan.steps_for("upsert"):
        for lk in step.lookups:
            for target in lk.targets:
                if target == step.table:
                    assert lk.column in step.self_ordered
                else:
                    assert position[target] < position[step.table], (step.table, lk.column, target)
    for d in plan.deferred:
        lookup = schema.table(d.table).lookup(d.column)
        assert lookup is not None and not lookup.required
    # same input, same plan (selection given in another order)
    again = build_plan(schema, list(reversed(plan.order)), outside=plan.policy)
    assert again.to_dict() == plan.to_dict()
    for text in (render_text(plan), render_dot(plan), render_mermaid(plan)):
        assert text.strip()


def test_copilot_studio_kit(corpus: Path) -> None:
    schema = metadata.schema_from_solution(corpus / CSK)
    assert len(schema.tables) == 35
    assert sum(len(t.lookups) for t in schema.tables) == 295
    plan = build_plan(schema)
    check_plan(schema, plan)
    ordered = {s.table: s.self_ordered for s in plan.steps_for("upsert") if s.self_ordered}
    assert ordered == {
        "cat_agenttranscripts": ("cat_parent",),
        "cat_copilottest": ("cat_parent",),
        "cat_copilottestresult": ("cat_parent",),
    }
    order = plan.order
    assert order.index("cat_copilottestset") < order.index("cat_copilottest")  # required parent first
    assert [s.relationship for s in plan.steps_for("associate")] == ["cat_ThresholdViolations"]
    assert plan.steps[-1].action == "set-state"


def test_copilot_studio_kit_outside_policies(corpus: Path) -> None:
    schema = metadata.schema_from_solution(corpus / CSK)
    tables = ["cat_copilottest", "cat_copilottestresult", "cat_copilottestrun"]
    plan = build_plan(schema, tables, outside="match")
    assert {(o.table, o.column) for o in plan.outside} >= {("cat_copilottest", "cat_copilottestsetid")}
    with pytest.raises(PlanError, match=r"cat_copilottest\.cat_copilottestsetid"):
        build_plan(schema, tables, outside="null")  # required lookup, cannot be left empty


def test_capgemini_portal_schema(corpus: Path) -> None:
    schema = metadata.schema_from_cmt(corpus / PORTALS)
    assert len(schema.tables) == 34
    plan = build_plan(schema)
    check_plan(schema, plan)
    steps = {s.table: s for s in plan.steps_for("upsert")}
    assert steps["adx_webpage"].self_ordered == ("adx_masterwebpageid", "adx_parentpageid", "adx_rootwebpageid")
    assert len(steps["adx_webformstep"].self_ordered) == 5
    assert {"adx_webpage", "adx_website"} <= {t for c in plan.cycles for t in c}
    assert plan.deferred and all(d.cycle for d in plan.deferred)
    text = render_text(plan)
    assert all(f"{d.table}.{d.column} → " in text for d in plan.deferred)
    assert len(plan.steps_for("associate")) >= 5


@pytest.mark.parametrize(
    "relpath",
    [
        "dotnetprog-cmt/data/data_schema.xml",
        "automation-kit/AutomationKIT_Packages/Source/AutomationKITPackage_Main/PkgAssets/AutomationKit-SampleData.zip",
        "capgemini-xrm-datamigration/samples/DemoScenarios/OrganizationHierarchy/Schema.xml",
        "capgemini-xrm-datamigration/samples/DemoScenarios/UsersAndRoles/Schema.xml",
        "capgemini-xrm-datamigration/samples/DemoScenarios/ManyToMany/Schema.xml",
        "capgemini-xrm-datamigration/samples/DemoScenarios/FieldServiceConfig/Schema.xml",
    ],
)
def test_cmt_packages(corpus: Path, relpath: str) -> None:
    schema = metadata.schema_from_cmt(corpus / relpath)
    plan = build_plan(schema)
    check_plan(schema, plan)
    assert len(plan.order) == len([t for t in schema.tables if not t.is_intersect])


def test_crm_core_schema() -> None:
    schema = metadata.crm_core_schema()
    plan = build_plan(schema)
    check_plan(schema, plan)
    assert any({"account", "contact"} <= set(c) for c in plan.cycles)
    assert plan.order.index("businessunit") < plan.order.index("team")
