"""Cloud-flow activation rules and the refreshed-sandbox state of the demo solution, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from seeder.emulator import EmulatorConfig
from tests.emulated.conftest import api_client

PARENT = "4c8b9f20-6d1a-4f3e-8b27-9e5a0c3d1f42"
CHILD = "7d1e2c4a-3b5f-4e61-9a8c-2f0d5e6b7a11"
REFERENCES = ("sdr_DemoDataverse", "sdr_DemoOutlook", "sdr_DemoTicketing")


def reference_ids(api: httpx.Client) -> dict[str, str]:
    rows = api.get("connectionreferences", params={"$select": "connectionreferencelogicalname"}).json()["value"]
    return {r["connectionreferencelogicalname"]: r["connectionreferenceid"] for r in rows}


def bind(api: httpx.Client, logical: str, connection: str) -> None:
    r = api.patch(f"connectionreferences(connectionreferencelogicalname='{logical}')",
                  json={"connectionid": connection})
    assert r.status_code == 204, r.text


def turn_on(api: httpx.Client, flow: str) -> httpx.Response:
    return api.patch(f"workflows({flow})", json={"statecode": 1}, headers={"If-Match": "*"})


def refused(response: httpx.Response, inner: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "0x80060467"
    assert error["message"].startswith('Flow client error returned with status code "BadRequest"')
    assert f'"code": "{inner}"' in error["message"]


def test_refreshed_sandbox_holds_the_post_copy_state(start_emulator: Callable[..., str]) -> None:
    source = start_emulator(EmulatorConfig(demo=True, records=20, seed=2, production=True))
    target = start_emulator(EmulatorConfig(demo=True, records=0, seed=2))
    with api_client(source) as src, api_client(target) as dst:
        flows = dst.get("workflows", params={"$select": "statecode,statuscode,category"}).json()["value"]
        assert {f["workflowid"] for f in flows} == {PARENT, CHILD}
        assert all((f["statecode"], f["statuscode"]) == (0, 1) for f in flows if f["category"] == 5)
        refs = dst.get("connectionreferences", params={"$select": "connectionid"}).json()["value"]
        assert len(refs) == 3 and all(r["connectionid"] is None for r in refs)
        assert dst.get("environmentvariablevalues").json()["value"] == []
        assert len(dst.get("environmentvariabledefinitions").json()["value"]) == 2
        assert src.get("environmentvariablevalues").json()["value"], "the source keeps its values"
        src_app = src.get("canvasapps", params={"$select": "canvasappid,uniquecanvasappid"}).json()["value"]
        dst_app = dst.get("canvasapps", params={"$select": "canvasappid,uniquecanvasappid"}).json()["value"]
        assert [a["canvasappid"] for a in src_app] == [a["canvasappid"] for a in dst_app]
        assert src_app[0]["uniquecanvasappid"] != dst_app[0]["uniquecanvasappid"] and dst_app[0]["uniquecanvasappid"]
        components = dst.get("solutioncomponents", params={"$select": "objectid"}).json()["value"]
        assert len(components) == 9, "the variable value's component went with the value"
        assert dst.get("contacts").json()["value"] == []


def test_flow_activation_needs_connections_and_children(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0))
    with api_client(url) as api:
        refused(turn_on(api, CHILD), "ConnectionAuthorizationFailed")
        assert "sdr_DemoDataverse" in turn_on(api, CHILD).json()["error"]["message"]
        bind(api, "sdr_DemoDataverse", "shared-commondataser-any")  # no connections listed: any id is accepted
        refused(turn_on(api, PARENT), "ConnectionAuthorizationFailed")
        bind(api, "sdr_DemoOutlook", "shared-office365-any")
        bind(api, "sdr_DemoTicketing", "shared-sdr-5fticketing-any")
        parent = turn_on(api, PARENT)
        refused(parent, "ChildFlowNotEnabled")
        assert CHILD in parent.json()["error"]["message"]
        assert turn_on(api, CHILD).status_code == 204
        assert turn_on(api, PARENT).status_code == 204
        states = {f["workflowid"]: f["statecode"] for f in api.get("workflows").json()["value"]}
        assert states == {PARENT: 1, CHILD: 1}
        off = api.patch(f"workflows({CHILD})", json={"statecode": 0})
        assert off.status_code == 204, "turning a flow off is always allowed"


def test_connection_ids_must_name_connected_connections(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0, with_connections=True))
    with api_client(url) as api:
        org = api.get("RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default')")
        env_id = org.json()["Detail"]["EnvironmentId"]
        listed = httpx.get(url + "/providers/Microsoft.PowerApps/connections", headers=api.headers,
                           params={"api-version": "2016-11-01", "$filter": f"environment eq '{env_id}'"}).json()
        by_api = {c["properties"]["apiId"].rsplit("/", 1)[-1]: c for c in listed["value"]}
        bind(api, "sdr_DemoDataverse", "not-a-connection-here")
        refused(turn_on(api, CHILD), "ConnectionAuthorizationFailed")
        dataverse = by_api["shared_commondataserviceforapps"]
        bind(api, "sdr_DemoDataverse", dataverse["name"])
        path = url + dataverse["id"]
        broken = httpx.put(path, params={"api-version": "2016-11-01"}, headers=api.headers,
                           json={"properties": {"statuses": [{"status": "Error"}]}})
        assert broken.status_code == 200
        refused(turn_on(api, CHILD), "ConnectionAuthorizationFailed")
        httpx.put(path, params={"api-version": "2016-11-01"}, headers=api.headers, json={"properties": {}})
        assert turn_on(api, CHILD).status_code == 204


def test_bulk_and_batch_paths_apply_the_same_rule(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0))
    with api_client(url) as api:
        target = {"@odata.type": "Microsoft.Dynamics.CRM.workflow", "workflowid": CHILD, "statecode": 1}
        for action in ("UpdateMultiple", "UpsertMultiple"):
            refused(api.post(f"workflows/Microsoft.Dynamics.CRM.{action}", json={"Targets": [target]}),
                    "ConnectionAuthorizationFailed")
        boundary, changeset = "batch_x", "changeset_y"
        body = (f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"
                f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                f"Content-ID: 1\r\n\r\nPATCH {url}/api/data/v9.2/workflows({CHILD}) HTTP/1.1\r\n"
                "Content-Type: application/json\r\n\r\n{\"statecode\": 1}\r\n"
                f"--{changeset}--\r\n--{boundary}--\r\n")
        batch = api.post("$batch", content=body.encode(),
                         headers={"Content-Type": f"multipart/mixed; boundary={boundary}"})
        assert "0x80060467" in batch.text
        created = api.post("workflows", json={"workflowid": "11111111-2222-3333-4444-555555555555", "name": "New",
                                              "category": 5, "type": 1, "primaryentity": "none", "statecode": 1,
                                              "clientdata": json.dumps({"properties": {"connectionReferences": {
                                                  "x": {"connection": {"connectionReferenceLogicalName":
                                                                       "sdr_DemoOutlook"}}}}})})
        refused(created, "ConnectionAuthorizationFailed")
        states = {f["workflowid"]: f["statecode"] for f in api.get("workflows").json()["value"]}
        assert states == {PARENT: 0, CHILD: 0}
