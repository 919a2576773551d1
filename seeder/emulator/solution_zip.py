"""Read a packed solution zip (the ``ExportSolution`` / ``pac solution pack`` layout) into component rows.

Every entry is checked before it is read (no absolute paths or ``..``, per-entry and total size caps, a
cap on the number of entries) and XML goes through the hardened parser of :mod:`seeder.metadata`
(no entities, no DTD, no network). The result is a :class:`SolutionPackage`: the solution's unique name,
whether it is managed, and ``(table, record)`` rows in the Web API shape for the publisher, the solution,
connectors, connection references, environment variable definitions and values, cloud flows (with the
state the zip records in ``wanted_on``) and canvas apps. Problems raise :class:`ApiError` (400).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from seeder.errors import UsageError
from seeder.metadata import child_text, parse_xml
from seeder.metadata._xml import safe_zip_members, zip_member
from seeder.model import Record

from .demo_reference import set_lookup
from .demo_solution import bare_guid, label_text
from .errors import ApiError

__all__ = ["MAX_ENTRIES", "MAX_TOTAL_BYTES", "SolutionPackage", "read_solution_zip", "row_id"]

MAX_ENTRIES = 20_000
MAX_TOTAL_BYTES = 512 * 1024 * 1024
_NAMESPACE = uuid.UUID("3b1f8c52-9d0e-4a6f-b7c3-5e2d1a0f9c84")


def row_id(kind: str, name: str) -> str:
    """The id given to a component the zip names but does not number (stable across imports)."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name.lower()}"))


def invalid(message: str) -> ApiError:
    # The service reports an unreadable import file as a 400 fault; 0x80048060 is modelled, not documented.
    return ApiError(400, "0x80048060", f"The import file is invalid. {message}")


@dataclass
class SolutionPackage:
    unique_name: str
    managed: bool
    rows: list[tuple[str, Record]] = field(default_factory=list)
    wanted_on: dict[str, bool] = field(default_factory=dict)
    """workflowid → whether the zip records the flow as on (``StateCode`` 1)."""


class _Zip:
    def __init__(self, data: bytes) -> None:
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
            self.members = safe_zip_members(self.archive, "solution file")
        except zipfile.BadZipFile:
            raise invalid("It is not a zip file.") from None
        except UsageError as exc:
            raise invalid(exc.message) from None
        if len(self.members) > MAX_ENTRIES:
            raise invalid(f"It holds {len(self.members)} entries (limit {MAX_ENTRIES}).")
        if sum(i.file_size for i in self.members.values()) > MAX_TOTAL_BYTES:
            raise invalid("Its uncompressed size is over the limit.")
        self.lower = {name.lower(): name for name in self.members}

    def read(self, name: str) -> bytes | None:
        real = self.lower.get(name.lstrip("/").lower())
        if real is None:
            return None
        try:
            return zip_member(self.archive, self.members[real], "solution file")
        except UsageError as exc:
            raise invalid(exc.message) from None

    def xml(self, name: str) -> etree._Element | None:
        data = self.read(name)
        if data is None:
            return None
        try:
            return parse_xml(data, name)
        except UsageError as exc:
            raise invalid(exc.message) from None

    def names(self, prefix: str) -> list[str]:
        return sorted(n for n in self.members if n.lower().startswith(prefix.lower()))


def _text(data: bytes | None) -> str:
    return data.decode("utf-8-sig", errors="replace").strip() if data is not None else ""


def read_solution_zip(data: bytes) -> SolutionPackage:
    """Parse a packed solution zip; 400 ``ApiError`` when it is not one."""
    archive = _Zip(data)
    manifest_root = archive.xml("solution.xml")
    manifest = manifest_root.find("SolutionManifest") if manifest_root is not None else None
    if manifest is None:
        raise invalid("solution.xml with a SolutionManifest is missing.")
    unique = child_text(manifest, "UniqueName")
    if not unique:
        raise invalid("The solution manifest has no UniqueName.")
    package = SolutionPackage(unique, child_text(manifest, "Managed") == "1")
    solution_id = row_id("solution", unique)
    publisher = manifest.find("Publisher")
    solution: Record = {"solutionid": solution_id, "uniquename": unique,
                        "friendlyname": _localized(manifest) or unique,
                        "version": child_text(manifest, "Version", "1.0.0.0"), "ismanaged": package.managed,
                        "isvisible": True}
    if publisher is not None:
        name = child_text(publisher, "UniqueName", "DefaultPublisher")
        prefix = child_text(publisher, "CustomizationOptionValuePrefix", "0")
        package.rows.append(("publisher", {
            "publisherid": row_id("publisher", name), "uniquename": name,
            "friendlyname": _localized(publisher) or name,
            "customizationprefix": child_text(publisher, "CustomizationPrefix", "new"),
            "customizationoptionvalueprefix": int(prefix) if prefix.isdigit() else 0}))
        set_lookup(solution, "publisherid", "publisher", row_id("publisher", name))
    package.rows.append(("solution", solution))
    custom = archive.xml("customizations.xml")
    if custom is None:
        raise invalid("customizations.xml is missing.")
    for node in custom.findall("Connectors/Connector"):
        package.rows.append(("connector", _connector(archive, node, package.managed)))
    for node in custom.findall("connectionreferences/connectionreference"):
        package.rows.append(("connectionreference", _reference(node, package.managed)))
    for name in archive.names("environmentvariabledefinitions/"):
        if name.lower().endswith("/environmentvariabledefinition.xml"):
            package.rows.extend(_variable(archive, name, package.managed))
    for node in custom.findall("Workflows/Workflow"):
        row = _workflow(archive, node, package.managed)
        package.wanted_on[row["workflowid"]] = child_text(node, "StateCode", "0") == "1"
        package.rows.append(("workflow", row))
    for node in custom.findall("CanvasApps/CanvasApp"):
        package.rows.append(("canvasapp", _canvas_app(node, package.managed)))
    return package


def _localized(element: etree._Element) -> str:
    node = element.find("LocalizedNames/LocalizedName")
    return (node.get("description") or "") if node is not None else ""


def _connector(archive: _Zip, node: etree._Element, managed: bool) -> Record:
    name = child_text(node, "name")
    type_text = child_text(node, "connectortype", "1")
    row: Record = {"connectorid": bare_guid(child_text(node, "connectorid")) or row_id("connector", name), "name": name,
                   "displayname": child_text(node, "displayname", name), "description": child_text(node, "description"),
                   "connectortype": int(type_text) if type_text.isdigit() else 1,
                   "iconbrandcolor": child_text(node, "iconbrandcolor"), "connectorinternalid": name,
                   "ismanaged": managed}
    for column in ("openapidefinition", "connectionparameters", "policytemplateinstances"):
        reference = child_text(node, column)
        if reference:
            row[column] = _text(archive.read(reference))
    return row


def _reference(node: etree._Element, managed: bool) -> Record:
    logical = node.get("connectionreferencelogicalname") or ""
    if not logical:
        raise invalid("A connectionreference has no connectionreferencelogicalname.")
    row: Record = {"connectionreferenceid": row_id("connectionreference", logical),
                   "connectionreferencelogicalname": logical,
                   "connectionreferencedisplayname": child_text(node, "connectionreferencedisplayname", logical),
                   "connectorid": child_text(node, "connectorid"), "description": child_text(node, "description"),
                   "promptingbehavior": int(child_text(node, "promptingbehavior", "0")), "ismanaged": managed}
    custom = bare_guid(child_text(node, "customconnectorid/connectorid"))
    if custom:
        set_lookup(row, "customconnectorid", "connector", custom)
    return row


def _variable(archive: _Zip, name: str, managed: bool) -> list[tuple[str, Record]]:
    xml = archive.xml(name)
    assert xml is not None
    folder = name.rsplit("/", 1)[0]
    schema_name = xml.get("schemaname") or folder.rsplit("/", 1)[-1]
    definition_id = row_id("environmentvariabledefinition", schema_name)
    type_text = child_text(xml, "type", "100000000")
    definition: Record = {"environmentvariabledefinitionid": definition_id, "schemaname": schema_name,
                          "displayname": label_text(xml, "displayname") or schema_name,
                          "description": label_text(xml, "description"),
                          "type": int(type_text) if type_text.isdigit() else 100000000,
                          "isrequired": child_text(xml, "isrequired") == "1", "ismanaged": managed}
    default = xml.find("defaultvalue")
    if default is not None:
        definition["defaultvalue"] = default.text or ""
    rows: list[tuple[str, Record]] = [("environmentvariabledefinition", definition)]
    values = archive.read(f"{folder}/environmentvariablevalues.json")
    if values is not None:
        try:
            data: Any = json.loads(_text(values))
        except ValueError:
            raise invalid(f"{folder}/environmentvariablevalues.json is not valid JSON.") from None
        item = data.get("environmentvariablevalues", {}).get("environmentvariablevalue") \
            if isinstance(data, dict) else None
        for entry in item if isinstance(item, list) else [item] if isinstance(item, dict) else []:
            value: Record = {"environmentvariablevalueid": bare_guid(str(entry.get("@environmentvariablevalueid", "")))
                             or row_id("environmentvariablevalue", schema_name), "schemaname": schema_name,
                             "value": str(entry.get("value", "")), "ismanaged": managed}
            set_lookup(value, "environmentvariabledefinitionid", "environmentvariabledefinition", definition_id)
            rows.append(("environmentvariablevalue", value))
    return rows


def _int(node: etree._Element, tag: str, default: int) -> int:
    text = child_text(node, tag, str(default))
    return int(text) if text.lstrip("-").isdigit() else default


def _workflow(archive: _Zip, node: etree._Element, managed: bool) -> Record:
    workflow_id = bare_guid(node.get("WorkflowId"))
    if not workflow_id:
        raise invalid("A Workflow has no WorkflowId.")
    json_file = child_text(node, "JsonFileName")
    clientdata = _text(archive.read(json_file)) if json_file else ""
    if json_file and not clientdata:
        raise invalid(f"The flow file {json_file} is missing.")
    if clientdata:
        try:
            clientdata = json.dumps(json.loads(clientdata), separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            raise invalid(f"{json_file} is not valid JSON.") from None
    return {"workflowid": workflow_id, "name": node.get("Name") or workflow_id,
            "category": _int(node, "Category", 5), "type": _int(node, "Type", 1), "mode": _int(node, "Mode", 0),
            "scope": _int(node, "Scope", 4), "ondemand": child_text(node, "OnDemand") == "1",
            "primaryentity": child_text(node, "PrimaryEntity", "none"), "clientdata": clientdata or None,
            "ismanaged": managed}


def _canvas_app(node: etree._Element, managed: bool) -> Record:
    name = child_text(node, "Name")
    type_text = child_text(node, "CanvasAppType", "0")
    row: Record = {"canvasappid": bare_guid(child_text(node, "CanvasAppId")) or row_id("canvasapp", name), "name": name,
                   "displayname": child_text(node, "DisplayName", name), "description": child_text(node, "Description"),
                   "appversion": child_text(node, "AppVersion"), "status": child_text(node, "Status"),
                   "tags": child_text(node, "Tags"), "canvasapptype": int(type_text) if type_text.isdigit() else 0,
                   "bypassconsent": child_text(node, "BypassConsent") == "1", "ismanaged": managed}
    for column, tag in (("connectionreferences", "ConnectionReferences"), ("databasereferences", "DatabaseReferences"),
                        ("appcomponents", "AppComponents"), ("appcomponentdependencies", "AppComponentDependencies")):
        row[column] = child_text(node, tag)
    return row
