"""Web-API-shaped component rows shared by the components unit tests."""

from __future__ import annotations

import json

from seeder.components import SHARED_WITH_KEY

PARENT = "11111111-1111-1111-1111-111111111111"
CHILD = "22222222-2222-2222-2222-222222222222"
API = "/providers/Microsoft.PowerApps/apis/"


def clientdata(refs: dict[str, str], child: str | None = None, env: str | None = None) -> str:
    actions: dict = {}
    for key in refs:
        actions[f"Use_{key}"] = {"type": "OpenApiConnection",
                                 "inputs": {"host": {"connectionName": key, "apiId": API + key}}}
    if child:
        actions["Run_child"] = {"type": "Workflow", "inputs": {"host": {"workflowReferenceName": child}}}
    if env:
        actions["Compose"] = {"type": "Compose", "inputs": f"@parameters('Setting ({env})')"}
    return json.dumps({"properties": {
        "connectionReferences": {k: {"runtimeSource": "embedded", "connection": {"connectionReferenceLogicalName": v},
                                     "api": {"name": k}} for k, v in refs.items()},
        "definition": {"triggers": {"manual": {"type": "Request"}}, "actions": actions}}, "schemaVersion": "1.0.0.0"})


def rows() -> dict[str, list[dict]]:
    return {
        "workflows": [
            {"workflowid": PARENT, "name": "Parent", "category": 5, "statecode": 1, "_ownerid_value": "u1",
             "clientdata": clientdata({"shared_office365": "new_outlook"}, child=CHILD, env="new_Region")},
            {"workflowid": CHILD.upper(), "name": "Child", "category": 5, "statecode": 0,
             "clientdata": clientdata({"shared_commondataserviceforapps": "new_dataverse",
                                       "shared_teams": "new_teams"})},
            {"workflowid": "33333333-3333-3333-3333-333333333333", "name": "Classic", "category": 0},
        ],
        "connectionreference": [
            {"connectionreferenceid": "c1", "connectionreferencelogicalname": "new_outlook",
             "connectorid": API + "shared_office365", "connectionid": "shared-office365-abc"},
            {"connectionreferenceid": "c2", "connectionreferencelogicalname": "new_dataverse",
             "connectorid": API + "shared_commondataserviceforapps", "connectionid": None},
        ],
        "environmentvariabledefinition": [
            {"environmentvariabledefinitionid": "D1", "schemaname": "new_Region", "type": 100000000,
             "defaultvalue": "EU"},
            {"environmentvariabledefinitionid": "D2", "schemaname": "new_Empty", "type": 100000000},
        ],
        "environmentvariablevalue": [
            {"environmentvariablevalueid": "V1", "_environmentvariabledefinitionid_value": "d1", "value": "US"},
        ],
        "canvasapp": [{"canvasappid": "A1", "name": "new_app_1", "displayname": "App", "uniquecanvasappid": "U1",
                       SHARED_WITH_KEY: ["G1"],
                       "connectionreferences": json.dumps({"x": {"id": API + "shared_office365users"}})}],
        "connector": [{"connectorid": "K1", "name": "new_api", "displayname": "API", "connectortype": 1}],
        "solution": [{"solutionid": "S1", "uniquename": "Demo", "version": "1.0", "ismanaged": False}],
    }
