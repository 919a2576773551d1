"""ExportSolution, ImportSolution and ImportSolutionAsync (with job polling) against the emulator over real HTTP."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
from lxml import etree

from seeder.emulator import EmulatorConfig
from seeder.metadata import crm_core_schema
from tests.emulated.conftest import api_client

PARENT = "4c8b9f20-6d1a-4f3e-8b27-9e5a0c3d1f42"
CHILD = "7d1e2c4a-3b5f-4e61-9a8c-2f0d5e6b7a11"
ORG = "RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default')"


def export(api: httpx.Client, managed: bool = False) -> bytes:
    r = api.post("ExportSolution", json={"SolutionName": "SeederDemo", "Managed": managed})
    assert r.status_code == 200, r.text
    return base64.b64decode(r.json()["ExportSolutionFile"])


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def turn_flows_on(api: httpx.Client) -> None:
    """Bind the source's references and turn its flows on, as in the production the solution comes from."""
    for name in ("sdr_DemoDataverse", "sdr_DemoOutlook", "sdr_DemoTicketing"):
        r = api.patch(f"connectionreferences(connectionreferencelogicalname='{name}')", json={"connectionid": "src"})
        assert r.status_code == 204, r.text
    for flow in (CHILD, PARENT):
        assert api.patch(f"workflows({flow})", json={"statecode": 1}).status_code == 204


def wait_for(api: httpx.Client, operation: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        row: dict[str, Any] = api.get(f"asyncoperations({operation})").json()
        if row["statecode"] == 3:
            return row
        time.sleep(0.05)
    raise AssertionError("the async operation did not complete")


def test_export_builds_the_packed_layout(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=10, seed=1))
    with api_client(url) as api:
        archive = zipfile.ZipFile(io.BytesIO(export(api)))
        names = set(archive.namelist())
        assert {"[Content_Types].xml", "solution.xml", "customizations.xml",
                "CanvasApps/sdr_accountexplorer_5e2a1_DocumentUri.msapp",
                "Connectors/sdr_5Fticketing_openapidefinition.json",
                "environmentvariabledefinitions/sdr_NotificationEmail/environmentvariabledefinition.xml",
                "environmentvariabledefinitions/sdr_NotificationEmail/environmentvariablevalues.json",
                "environmentvariabledefinitions/sdr_TicketPriority/environmentvariabledefinition.xml"} <= names
        manifest = etree.fromstring(archive.read("solution.xml")).find("SolutionManifest")
        assert manifest is not None and manifest.findtext("UniqueName") == "SeederDemo"
        assert manifest.findtext("Managed") == "0" and manifest.findtext("Publisher/CustomizationPrefix") == "sdr"
        roots = {(r.get("type"), (r.get("id") or r.get("schemaName") or "").strip("{}"))
                 for r in manifest.iter("RootComponent")}
        assert {("29", PARENT), ("29", CHILD), ("300", "sdr_accountexplorer_5e2a1"),
                ("380", "sdr_NotificationEmail")} <= roots
        custom = etree.fromstring(archive.read("customizations.xml"))
        refs = {r.get("connectionreferencelogicalname"): r.findtext("connectorid")
                for r in custom.iter("connectionreference")}
        assert refs["sdr_DemoOutlook"] == "/providers/Microsoft.PowerApps/apis/shared_office365" and len(refs) == 3
        flows = api.get("workflows", params={"$select": "clientdata"}).json()["value"]
        for flow in custom.iter("Workflow"):
            path = str(flow.findtext("JsonFileName")).lstrip("/")
            workflow_id = str(flow.get("WorkflowId")).strip("{}")
            assert path.startswith("Workflows/") and path.endswith(workflow_id.upper() + ".json")
            clientdata = next(f["clientdata"] for f in flows if f["workflowid"] == workflow_id)
            assert json.loads(archive.read(path)) == json.loads(clientdata)
        assert b"connectionid" not in archive.read("customizations.xml"), "connections never leave the environment"
        managed = etree.fromstring(zipfile.ZipFile(io.BytesIO(export(api, True))).read("solution.xml"))
        assert managed.findtext("SolutionManifest/Managed") == "1"
        assert export(api) == export(api), "exports are deterministic"
        missing = api.post("ExportSolution", json={"SolutionName": "NoSuchSolution", "Managed": False})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"


def test_import_with_component_parameters_turns_flows_on(start_emulator: Callable[..., str]) -> None:
    source = start_emulator(EmulatorConfig(demo=True, records=10, seed=1))
    target = start_emulator(schema=crm_core_schema())
    with api_client(source) as src, api_client(target) as dst:
        turn_flows_on(src)
        data = export(src)
        source_app = src.get("canvasapps").json()["value"][0]
        params = [{"@odata.type": "Microsoft.Dynamics.CRM.connectionreference",
                   "connectionreferencelogicalname": name, "connectionid": f"conn-{i}"}
                  for i, name in enumerate(("sdr_DemoDataverse", "sdr_DemoOutlook", "sdr_DemoTicketing"))]
        params.append({"@odata.type": "Microsoft.Dynamics.CRM.environmentvariablevalue",
                       "schemaname": "sdr_TicketPriority", "value": "1"})
        job = "0f0e0d0c-0b0a-4908-8706-050403020100"
        r = dst.post("ImportSolution", json={"CustomizationFile": base64.b64encode(data).decode(),
                                              "OverwriteUnmanagedCustomizations": True, "PublishWorkflows": True,
                                              "ImportJobId": job, "ComponentParameters": params})
        assert r.status_code == 204, r.text
        states = {f["workflowid"]: f["statecode"] for f in dst.get("workflows").json()["value"]}
        assert states == {PARENT: 1, CHILD: 1}, "children before parents, all connections bound"
        refs = dst.get("connectionreferences", params={"$select": "connectionreferencelogicalname,connectionid"})
        assert sorted(r["connectionid"] for r in refs.json()["value"]) == ["conn-0", "conn-1", "conn-2"]
        values = {v["schemaname"]: v["value"] for v in dst.get("environmentvariablevalues").json()["value"]}
        assert values == {"sdr_NotificationEmail": "sales-operations@contoso.example", "sdr_TicketPriority": "1"}
        app = dst.get("canvasapps").json()["value"][0]
        assert app["canvasappid"] == source_app["canvasappid"], "canvasappid travels with the solution"
        assert app["uniquecanvasappid"] and app["uniquecanvasappid"] != source_app["uniquecanvasappid"]
        assert len(dst.get("solutioncomponents").json()["value"]) == 10
        report = dst.get(f"importjobs({job})").json()
        assert report["progress"] == 100 and 'result="success"' in report["data"]
        again = dst.post("ImportSolution", json={"CustomizationFile": base64.b64encode(data).decode(),
                                                  "ImportJobId": job})
        assert again.status_code == 412, "an import job id is used once"


def test_async_import_into_refreshed_sandbox_keeps_ids_and_flows_off(start_emulator: Callable[..., str]) -> None:
    source = start_emulator(EmulatorConfig(demo=True, records=10, seed=1))
    target = start_emulator(EmulatorConfig(demo=True, records=0, seed=1))
    with api_client(source) as src, api_client(target) as dst:
        turn_flows_on(src)
        data = export(src)
        before = {r["connectionreferencelogicalname"]: r["connectionreferenceid"]
                  for r in dst.get("connectionreferences").json()["value"]}
        apps = dst.get("canvasapps").json()["value"]
        r = dst.post("ImportSolutionAsync", json={"CustomizationFile": base64.b64encode(data).decode(),
                                                   "OverwriteUnmanagedCustomizations": True,
                                                   "PublishWorkflows": True})
        assert r.status_code == 200, r.text
        started = dst.get(f"asyncoperations({r.json()['AsyncOperationId']})").json()
        assert started["statecode"] in (0, 2, 3)
        done = wait_for(dst, r.json()["AsyncOperationId"])
        assert done["statuscode"] == 30, done
        job = dst.get(f"importjobs({r.json()['ImportJobKey']})").json()
        assert job["progress"] == 100 and job["solutionname"] == "SeederDemo"
        assert 'state="off"' in job["data"] and "has no connection" in job["data"]
        after = {r["connectionreferencelogicalname"]: r["connectionreferenceid"]
                 for r in dst.get("connectionreferences").json()["value"]}
        assert after == before
        assert dst.get("canvasapps").json()["value"][0]["uniquecanvasappid"] == apps[0]["uniquecanvasappid"]
        assert {f["statecode"] for f in dst.get("workflows").json()["value"]} == {0}


def test_bad_files_fail_the_import(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0))
    traversal = zip_bytes({"solution.xml": b"<ImportExportXml/>", "../evil.txt": b"x"})
    entity = zip_bytes({"solution.xml": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                        b"<ImportExportXml><SolutionManifest><UniqueName>&e;</UniqueName>"
                                        b"</SolutionManifest></ImportExportXml>",
                        "customizations.xml": b"<ImportExportXml/>"})
    with api_client(url) as api:
        for data in (traversal, b"not a zip", entity):
            sync = api.post("ImportSolution", json={"CustomizationFile": base64.b64encode(data).decode()})
            assert sync.status_code == 400 and sync.json()["error"]["code"] == "0x80048060", sync.text
            assert "passwd" not in sync.text and "root:" not in sync.text
            r = api.post("ImportSolutionAsync", json={"CustomizationFile": base64.b64encode(data).decode()})
            done = wait_for(api, r.json()["AsyncOperationId"])
            assert done["statuscode"] == 31 and "import file is invalid" in done["message"]
            job = api.get(f"importjobs({r.json()['ImportJobKey']})").json()
            assert 'result="failure"' in job["data"]
        not_base64 = api.post("ImportSolution", json={"CustomizationFile": "%%%"})
        assert not_base64.status_code == 400
        account = [{"@odata.type": "#Microsoft.Dynamics.CRM.account"}]
        wrong = api.post("ImportSolution", json={"CustomizationFile": base64.b64encode(export(api)).decode(),
                                                 "ComponentParameters": account})
        assert wrong.status_code == 400 and "ComponentParameters[0]" in wrong.json()["error"]["message"]


def test_export_async_and_download(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0))
    with api_client(url) as api:
        r = api.post("ExportSolutionAsync", json={"SolutionName": "SeederDemo", "Managed": False})
        assert r.status_code == 200, r.text
        assert wait_for(api, r.json()["AsyncOperationId"])["statuscode"] == 30
        download = api.post("DownloadSolutionExportData", json={"ExportJobId": r.json()["ExportJobId"]})
        assert base64.b64decode(download.json()["ExportSolutionFile"]) == export(api)


def test_publish_workflows_false_and_managed_overwrite(start_emulator: Callable[..., str]) -> None:
    source = start_emulator(EmulatorConfig(demo=True, records=0, seed=1))
    target = start_emulator(EmulatorConfig(demo=True, records=0, seed=1))
    with api_client(source) as src, api_client(target) as dst:
        turn_flows_on(src)
        src.patch("connectionreferences(connectionreferencelogicalname='sdr_DemoOutlook')",
                  json={"connectionreferencedisplayname": "Changed in source"})
        turn_flows_on(dst)
        dst.patch(f"workflows({PARENT})", json={"statecode": 0})
        dst.patch(f"workflows({CHILD})", json={"statecode": 0})
        managed = base64.b64encode(export(src, managed=True)).decode()
        r = dst.post("ImportSolution", json={"CustomizationFile": managed, "PublishWorkflows": False,
                                              "OverwriteUnmanagedCustomizations": False})
        assert r.status_code == 204, r.text
        assert {f["statecode"] for f in dst.get("workflows").json()["value"]} == {0}
        names = {r["connectionreferencelogicalname"]: r["connectionreferencedisplayname"]
                 for r in dst.get("connectionreferences").json()["value"]}
        assert names["sdr_DemoOutlook"] == "Seeder Demo | Office 365 Outlook", "unmanaged rows are kept"
        r = dst.post("ImportSolution", json={"CustomizationFile": managed, "PublishWorkflows": True,
                                              "OverwriteUnmanagedCustomizations": True})
        assert r.status_code == 204, r.text
        assert {f["statecode"] for f in dst.get("workflows").json()["value"]} == {1}
        names = {r["connectionreferencelogicalname"]: r["connectionreferencedisplayname"]
                 for r in dst.get("connectionreferences").json()["value"]}
        assert names["sdr_DemoOutlook"] == "Changed in source"
