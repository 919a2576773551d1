"""``ExportSolution``: build a packed solution zip from the ``solution``, ``solutioncomponent`` and component rows.

The layout is the exported-file layout of dataverse-protocol.md §9.6 (what the service returns and
``pac solution pack`` produces, not the unpacked source-control layout)::

    [Content_Types].xml, solution.xml, customizations.xml (Workflows, CanvasApps, Connectors,
    connectionreferences, Languages), Workflows/<Name>-<WORKFLOWGUID>.json (the flow's clientdata),
    environmentvariabledefinitions/<schemaname>/environmentvariabledefinition.xml (+ environmentvariablevalues.json),
    CanvasApps/<name>_DocumentUri.msapp, Connectors/<name>_openapidefinition.json (...)

Connection ids are never written: connections belong to one environment (that is what deployment settings
and ``ComponentParameters`` are for). The zip is deterministic: members sorted, fixed timestamps.
``<CanvasAppId>`` is an emulator addition so that ``canvasappid`` survives solution transport, as it does
on the service.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from lxml import etree

from .env import Environment
from .errors import ApiError

__all__ = ["COMPONENT_TABLES", "export_solution", "solution_components", "workflow_file_name"]

COMPONENT_TABLES = ("workflow", "connectionreference", "environmentvariabledefinition", "environmentvariablevalue",
                    "canvasapp", "connector")
"""Tables whose rows a solution component's ``objectid`` may point at (connection references have a
per-environment componenttype, so components are resolved by id, not by type)."""
_STAMP = (2024, 1, 1, 0, 0, 0)
_CONTENT_TYPES = ('<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                  'content-types"><Default Extension="xml" ContentType="application/octet-stream" /><Default '
                  'Extension="json" ContentType="application/octet-stream" /></Types>')
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def workflow_file_name(name: str, workflow_id: str) -> str:
    """``Workflows/<Name>-<GUID>.json`` as the service names a flow's file (letters and digits of the name)."""
    return f"Workflows/{re.sub(r'[^A-Za-z0-9]', '', name) or 'Flow'}-{workflow_id.upper()}.json"


def solution_components(env: Environment, solution_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, stored row) of every component of the solution, in component order."""
    st = env.store.tables.get("solutioncomponent")
    if st is None:
        return
    rows = env.store.query(f'SELECT objectid FROM "{st.sql_name}" WHERE solutionid = ? '  # noqa: S608 - validated name
                           "ORDER BY componenttype, objectid", [solution_id])
    for row in rows:
        object_id = str(row["objectid"] or "").lower()
        for table in COMPONENT_TABLES:
            if table in env.store.tables:
                found = env.store.get(table, object_id)
                if found is not None:
                    yield table, found
                    break


def _el(parent: etree._Element, tag: str, text: Any = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = str(int(text) if isinstance(text, bool) else text)
    return node


def _localized(parent: etree._Element, text: str, tag: str = "LocalizedNames", item: str = "LocalizedName") -> None:
    names = _el(parent, tag)
    _el(names, item, description=text or "", languagecode="1033")


def _xml(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))


def _manifest(env: Environment, solution: dict[str, Any], managed: bool,
              components: list[tuple[str, dict[str, Any]]]) -> bytes:
    root = etree.Element("ImportExportXml", nsmap={"xsi": _XSI}, version=env.org.version or "9.2.24101.0",
                         SolutionPackageVersion="9.2", languagecode="1033", generatedBy="CrmLive")
    manifest = _el(root, "SolutionManifest")
    _el(manifest, "UniqueName", solution["uniquename"])
    _localized(manifest, solution.get("friendlyname") or solution["uniquename"])
    _localized(manifest, solution.get("description") or "", "Descriptions", "Description")
    _el(manifest, "Version", solution.get("version") or "1.0.0.0")
    _el(manifest, "Managed", "1" if managed else "0")
    publisher = env.store.get("publisher", solution["publisherid"]) if solution.get("publisherid") and \
        "publisher" in env.store.tables else None
    pub = _el(manifest, "Publisher")
    _el(pub, "UniqueName", (publisher or {}).get("uniquename") or "DefaultPublisher")
    _localized(pub, (publisher or {}).get("friendlyname") or "Default Publisher")
    _el(pub, "CustomizationPrefix", (publisher or {}).get("customizationprefix") or "new")
    _el(pub, "CustomizationOptionValuePrefix", (publisher or {}).get("customizationoptionvalueprefix") or 10000)
    roots = _el(manifest, "RootComponents")
    for table, row in components:
        if table == "workflow":
            _el(roots, "RootComponent", type="29", id="{" + row["workflowid"] + "}", behavior="0")
        elif table == "canvasapp":
            _el(roots, "RootComponent", type="300", schemaName=row.get("name") or "", behavior="0")
        elif table == "connector":
            _el(roots, "RootComponent", type="372", schemaName=row.get("name") or "",
                id="{" + row["connectorid"] + "}", behavior="0")
        elif table == "environmentvariabledefinition":
            _el(roots, "RootComponent", type="380", schemaName=row.get("schemaname") or "", behavior="0")
    _el(manifest, "MissingDependencies")
    return _xml(root)


def _customizations(components: list[tuple[str, dict[str, Any]]], files: dict[str, bytes]) -> bytes:
    root = etree.Element("ImportExportXml", nsmap={"xsi": _XSI})
    for tag in ("Entities", "Roles"):
        _el(root, tag)
    workflows = _el(root, "Workflows")
    for tag in ("FieldSecurityProfiles", "Templates", "EntityMaps", "EntityRelationships", "OrganizationSettings",
                "optionsets", "CustomControls", "EntityDataProviders"):
        _el(root, tag)
    apps, connectors, references = _el(root, "CanvasApps"), _el(root, "Connectors"), _el(root, "connectionreferences")
    for table, row in components:
        if table == "workflow":
            path = workflow_file_name(row.get("name") or "", row["workflowid"])
            files[path] = str(row.get("clientdata") or "{}").encode("utf-8")
            flow = _el(workflows, "Workflow", WorkflowId="{" + row["workflowid"] + "}", Name=row.get("name") or "")
            _el(flow, "JsonFileName", "/" + path)
            for tag, column, default in (("Type", "type", 1), ("Subprocess", "", 0), ("Category", "category", 5),
                                         ("Mode", "mode", 0), ("Scope", "scope", 4), ("OnDemand", "ondemand", 0),
                                         ("StateCode", "statecode", 0), ("StatusCode", "statuscode", 1)):
                value = row.get(column) if column else None
                _el(flow, tag, default if value is None else value)
            _el(flow, "IsCustomizable", 1)
            _el(flow, "PrimaryEntity", row.get("primaryentity") or "none")
            _localized(flow, row.get("name") or "")
        elif table == "connectionreference":
            ref = _el(references, "connectionreference",
                      connectionreferencelogicalname=row.get("connectionreferencelogicalname") or "")
            _el(ref, "connectionreferencedisplayname", row.get("connectionreferencedisplayname") or "")
            _el(ref, "connectorid", row.get("connectorid") or "")
            if row.get("customconnectorid"):
                _el(_el(ref, "customconnectorid"), "connectorid", row["customconnectorid"])
            if row.get("description"):
                _el(ref, "description", row["description"])
            for tag, default in (("iscustomizable", 1), ("promptingbehavior", 0), ("statecode", 0), ("statuscode", 1)):
                _el(ref, tag, row.get(tag) if row.get(tag) is not None else default)
        elif table == "canvasapp":
            _canvas_app(apps, row, files)
        elif table == "connector":
            _connector(connectors, row, files)
        elif table == "environmentvariabledefinition":
            _variable(row, components, files)
    _el(_el(root, "Languages"), "Language", "1033")
    return _xml(root)


def _canvas_app(apps: etree._Element, row: dict[str, Any], files: dict[str, bytes]) -> None:
    name = row.get("name") or row["canvasappid"]
    app = _el(apps, "CanvasApp")
    _el(app, "Name", name)
    _el(app, "CanvasAppId", row["canvasappid"])
    for tag, column in (("AppVersion", "appversion"), ("Status", "status"), ("Tags", "tags"),
                        ("DisplayName", "displayname"), ("Description", "description"),
                        ("ConnectionReferences", "connectionreferences"), ("DatabaseReferences", "databasereferences"),
                        ("AppComponents", "appcomponents"), ("AppComponentDependencies", "appcomponentdependencies"),
                        ("CanvasAppType", "canvasapptype"), ("BypassConsent", "bypassconsent")):
        value = row.get(column)
        _el(app, tag, "" if value is None else value)
    document = f"CanvasApps/{name}_DocumentUri.msapp"
    _el(app, "DocumentUri", "/" + document)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as msapp:
        header = {"DocVersion": "1.0", "AppName": row.get("displayname") or name, "AppVersion": row.get("appversion")}
        msapp.writestr(zipfile.ZipInfo("Header.json", _STAMP), json.dumps(header, sort_keys=True))
    files[document] = buffer.getvalue()


def _connector(connectors: etree._Element, row: dict[str, Any], files: dict[str, bytes]) -> None:
    name = row.get("name") or row["connectorid"]
    node = _el(connectors, "Connector")
    for tag in ("connectorid", "name", "displayname", "description", "connectortype", "iconbrandcolor"):
        value = row.get(tag)
        _el(node, tag, "" if value is None else value)
    for column in ("openapidefinition", "connectionparameters", "policytemplateinstances"):
        if row.get(column):
            path = f"Connectors/{name}_{column}.json"
            files[path] = str(row[column]).encode("utf-8")
            _el(node, column, "/" + path)


def _variable(row: dict[str, Any], components: list[tuple[str, dict[str, Any]]], files: dict[str, bytes]) -> None:
    schema_name = row.get("schemaname") or row["environmentvariabledefinitionid"]
    root = etree.Element("environmentvariabledefinition", schemaname=schema_name)
    if row.get("defaultvalue") is not None:
        _el(root, "defaultvalue", row["defaultvalue"])
    for tag in ("description", "displayname"):
        node = _el(root, tag, default=row.get(tag) or "")
        _el(node, "label", description=row.get(tag) or "", languagecode="1033")
    _el(root, "isrequired", int(row.get("isrequired") or 0))
    _el(root, "type", row.get("type") or 100000000)
    folder = f"environmentvariabledefinitions/{schema_name}"
    files[f"{folder}/environmentvariabledefinition.xml"] = _xml(root)
    values = [r for t, r in components if t == "environmentvariablevalue"
              and r.get("environmentvariabledefinitionid") == row["environmentvariabledefinitionid"]]
    if values:
        value = values[0]
        files[f"{folder}/environmentvariablevalues.json"] = json.dumps(
            {"environmentvariablevalues": {"environmentvariablevalue": {
                "@environmentvariablevalueid": value["environmentvariablevalueid"], "iscustomizable": "1",
                "value": value.get("value") or ""}}}, indent=2).encode("utf-8")


def export_solution(env: Environment, unique_name: str, managed: bool = False) -> bytes:
    """The packed solution zip of ``unique_name``; 404 (``0x80040217``) when there is no such solution."""
    solution_id = env.store.find_by_key("solution", {"uniquename": unique_name}) \
        if "solution" in env.store.tables and unique_name else None
    solution = env.store.get("solution", solution_id) if solution_id else None
    if solution is None or solution_id is None:
        # Modelled on the service's "object does not exist" fault for a solution unique name.
        raise ApiError(404, "0x80040217", f"solution With UniqueName = {unique_name} Does Not Exist")
    components = list(solution_components(env, solution_id))
    files: dict[str, bytes] = {"[Content_Types].xml": _CONTENT_TYPES.encode("utf-8")}
    files["solution.xml"] = _manifest(env, solution, managed, components)
    files["customizations.xml"] = _customizations(components, files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, _STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[path])
    return buffer.getvalue()
