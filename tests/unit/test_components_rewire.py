"""Re-wiring plans: order (data-safe, connectors first, children before parents), bindings and findings."""

from __future__ import annotations

import json

from components_rows import API, CHILD, PARENT, clientdata, rows

from seeder.components import ComponentSet, DeploymentSettings, TargetState, plan_rewire, rewire_actions

GRANDCHILD = "55555555-5555-5555-5555-555555555555"


def chain_rows() -> dict[str, list[dict]]:
    """Parent -> Child -> Grandchild, all on in the source; references all declared."""
    data = rows()
    data["workflows"] = [
        {"workflowid": PARENT, "name": "A parent", "category": 5, "statecode": 1, "_ownerid_value": "src-user",
         "clientdata": clientdata({"shared_office365": "new_outlook"}, child=CHILD)},
        {"workflowid": CHILD, "name": "B child", "category": 5, "statecode": 1,
         "clientdata": clientdata({"shared_commondataserviceforapps": "new_dataverse"}, child=GRANDCHILD)},
        {"workflowid": GRANDCHILD, "name": "C grandchild", "category": 5, "statecode": 1,
         "clientdata": clientdata({"shared_office365": "new_outlook"})},
        {"workflowid": "66666666-6666-6666-6666-666666666666", "name": "D off", "category": 5, "statecode": 0,
         "clientdata": clientdata({"shared_office365": "new_outlook"})},
    ]
    return data


def target(**overrides: object) -> TargetState:
    base = dict(
        flows={PARENT: "on", CHILD: "off", GRANDCHILD: "off", "66666666-6666-6666-6666-666666666666": "off"},
        connection_references={"new_outlook": None, "new_dataverse": None},
        environment_variables={"new_region": None, "new_empty": None},
        custom_connectors=frozenset(),
        owner="target-admin", owner_map={"src-user": "target-user"},
    )
    base.update(overrides)
    return TargetState(**base)  # type: ignore[arg-type]


SETTINGS = DeploymentSettings.loads(json.dumps({
    "EnvironmentVariables": [{"SchemaName": "new_Empty", "Value": "x"}],
    "ConnectionReferences": [
        {"LogicalName": "new_outlook", "ConnectionId": "o-1", "ConnectorId": API + "shared_office365"},
        {"LogicalName": "new_dataverse", "ConnectionId": "d-1", "ConnectorId": API + "shared_commondataserviceforapps"},
    ]}))


def test_order_children_before_parents_and_phases():
    cs = ComponentSet.from_rows(chain_rows())
    actions = rewire_actions(cs, SETTINGS, target())
    kinds = [a.kind for a in actions]
    assert kinds[0] == "turn-off-flow" and actions[0].phase == "before-data" and actions[0].target == PARENT
    assert all(a.phase == "after-data" for a in actions[1:])
    assert kinds.index("install-custom-connector") < kinds.index("bind-connection-reference")
    assert kinds.index("bind-connection-reference") < kinds.index("set-environment-variable")
    ons = [a.target for a in actions if a.kind == "turn-on-flow"]
    assert ons == [GRANDCHILD, CHILD, PARENT]  # not name order: dependency order
    assert "66666666-6666-6666-6666-666666666666" not in ons  # off in the source stays off
    owners = {a.target: a.payload.get("ownerid") for a in actions if a.kind == "turn-on-flow"}
    assert owners == {GRANDCHILD: "target-admin", CHILD: "target-admin", PARENT: "target-user"}
    binds = {a.target: a.payload["connectionid"] for a in actions if a.kind == "bind-connection-reference"}
    assert binds == {"new_outlook": "o-1", "new_dataverse": "d-1"}
    values = {a.target: a.payload["value"] for a in actions if a.kind == "set-environment-variable"}
    assert values == {"new_Empty": "x", "new_Region": "US"}


def test_unbound_reference_keeps_flow_and_its_parents_off():
    cs = ComponentSet.from_rows(chain_rows())
    settings = DeploymentSettings.loads(json.dumps({"ConnectionReferences": [
        {"LogicalName": "new_outlook", "ConnectionId": "o-1", "ConnectorId": ""},
        {"LogicalName": "new_dataverse", "ConnectionId": "#{token}#", "ConnectorId": ""}]}))
    plan = plan_rewire(cs, settings, target())
    ons = [a.target for a in plan.actions if a.kind == "turn-on-flow"]
    assert ons == [GRANDCHILD]
    codes = [(f.code, f.component) for f in plan.findings]
    assert ("connection-reference-unbound", "new_dataverse") in codes
    assert ("flow-stays-off", "B child") in codes and ("flow-stays-off", "A parent") in codes


def test_already_bound_and_equal_values_need_no_action():
    cs = ComponentSet.from_rows(chain_rows())
    state = target(connection_references={"new_outlook": "o-1", "new_dataverse": "d-1"},
                   environment_variables={"new_region": "US", "new_empty": "x"},
                   custom_connectors=frozenset({"new_api"}))
    kinds = {a.kind for a in rewire_actions(cs, SETTINGS, state)}
    assert kinds == {"turn-off-flow", "turn-on-flow"}


def test_canvas_app_identity_and_shares():
    data = chain_rows()
    data["environmentvariabledefinition"].append(
        {"environmentvariabledefinitionid": "D3", "schemaname": "new_AppId", "type": 100000000})
    data["environmentvariablevalue"].append(
        {"environmentvariablevalueid": "V3", "_environmentvariabledefinitionid_value": "D3", "value": "U1"})
    cs = ComponentSet.from_rows(data)
    there = ComponentSet.from_rows({"canvasapp": [{"canvasappid": "A1", "name": "new_app_1",
                                                   "uniquecanvasappid": "U2", "@seeder.sharedwith": []}]})
    state = target(canvas_apps={"new_app_1": there.canvas_apps[0]})
    actions = rewire_actions(cs, SETTINGS, state)
    mapped = [a for a in actions if a.kind == "map-canvas-app"]
    assert mapped[0].payload == {"canvasappid": "a1", "source_app_id": "u1", "target_app_id": "u2"}
    shares = [a.payload for a in actions if a.kind == "share-canvas-app"]
    assert shares == [{"app_id": "u2", "principal": "g1", "role": "CanView"}]
    repointed = [a.payload["value"] for a in actions if a.kind == "set-environment-variable"
                 and a.target == "new_AppId"]
    assert repointed == ["u2"]
    missing = plan_rewire(cs, SETTINGS, target())
    assert any(f.code == "canvas-app-missing" for f in missing.findings)


def test_child_flow_cycle_is_a_finding():
    data = chain_rows()
    data["workflows"][2]["clientdata"] = clientdata({"shared_office365": "new_outlook"}, child=PARENT)
    plan = plan_rewire(ComponentSet.from_rows(data), SETTINGS, target())
    assert any(f.code == "child-flow-cycle" for f in plan.findings)
    assert len([a for a in plan.actions if a.kind == "turn-on-flow"]) == 3


def test_target_state_from_components():
    cs = ComponentSet.from_rows(chain_rows())
    state = TargetState.from_components(cs, owner="x")
    assert state.flows[PARENT] == "on" and state.connection_references["new_outlook"] == "shared-office365-abc"
    assert state.custom_connectors == frozenset({"new_api"})
    assert rewire_actions(cs, None, state) == [a for a in rewire_actions(cs, None, state)]
