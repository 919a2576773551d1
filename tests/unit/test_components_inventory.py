"""ComponentSet from Web API rows: flows, references, variables, apps, findings and the dependency graph."""

from __future__ import annotations

import json

from components_rows import API, CHILD, PARENT, rows

from seeder.components import ComponentSet


def test_from_rows_inventory():
    cs = ComponentSet.from_rows(rows())
    assert [f.name for f in cs.flows] == ["Child", "Parent"]
    assert cs.classic_workflows == 1
    parent = cs.flow(PARENT)
    assert parent is not None and parent.state == "on" and parent.owner == "u1"
    assert parent.child_flows == (CHILD,)
    region = cs.environment_variables[1]
    assert (region.schema_name, region.current_value, region.effective_value) == ("new_Region", "US", "US")
    assert cs.canvas_apps[0].shared_with == ("g1",)
    assert cs.canvas_apps[0].unique_app_id == "u1"
    d = cs.to_dict()
    assert d["flows"][1]["connection_references"] == ["new_outlook"]
    assert {"logical_name": "new_outlook", "connector": API + "shared_office365"}.items() <= \
        d["connection_references"][1].items()
    assert set(d) >= {"flows", "connection_references", "environment_variables", "findings", "dependencies"}


def test_from_rows_findings():
    cs = ComponentSet.from_rows(rows())
    codes = {(f.severity, f.code, f.component) for f in cs.findings}
    assert ("error", "undeclared-connection-reference", "Child") in codes  # new_teams not declared
    assert ("warning", "connection-reference-unbound", "new_dataverse") in codes
    assert ("warning", "environment-variable-without-value", "new_Empty") in codes
    assert not any(f.code == "unknown-child-flow" for f in cs.findings)
    assert [f.severity for f in cs.findings] == sorted((f.severity for f in cs.findings),
                                                       key=["error", "warning", "info"].index)


def test_dependency_graph():
    deps = ComponentSet.from_rows(rows()).dependencies()
    assert deps[f"flow:{PARENT}"] == ["connectionreference:new_outlook", "environmentvariable:new_Region",
                                      f"flow:{CHILD}"]
    assert deps["connectionreference:new_outlook"] == ["connector:shared_office365"]
    assert deps["canvasapp:new_app_1"] == ["connector:shared_office365users"]
    assert "customconnector:k1" in deps


def test_bad_clientdata_is_a_finding_not_a_crash():
    data = rows()
    data["workflows"].append({"workflowid": "44444444-4444-4444-4444-444444444444", "name": "Broken",
                              "category": 5, "clientdata": "{not json"})
    cs = ComponentSet.from_rows(data)
    assert any(f.code == "unreadable-flow" and f.component == "Broken" for f in cs.errors())


def test_legacy_flow_is_flagged_and_not_an_undeclared_reference():
    data = rows()
    data["workflows"].append({"workflowid": "77777777-7777-7777-7777-777777777777", "name": "Legacy",
                              "category": 5, "statecode": 1, "clientdata": json.dumps({"properties": {
                                  "connectionReferences": {"shared_office365": {
                                      "connection": {"name": "shared-office365-1"},
                                      "api": {"name": "shared_office365"}}},
                                  "definition": {}}})})
    cs = ComponentSet.from_rows(data)
    legacy = [f for f in cs.findings if f.component == "Legacy"]
    assert [(f.severity, f.code) for f in legacy] == [("warning", "legacy-connection")]
    assert cs.flow("77777777-7777-7777-7777-777777777777").to_dict()["legacy_connections"] == ["shared_office365"]
