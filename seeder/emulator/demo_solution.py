"""Load the checked-in demo solution (``solutions/SeederDemo``, ``pac solution unpack`` layout) as the
component rows Dataverse holds after importing it: publisher, solution, solution components, cloud flows
(``workflow`` rows with ``category`` 5 and the flow JSON in ``clientdata``, imported **off**), connection
references (no ``connectionid``: connections are per environment), environment variable definitions and
values, the canvas app and the custom connector.

Ids are the ones in the files where the files carry them (flows, connector, variable value) and
otherwise a UUID derived from the component's name, so they are the same on every load.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from seeder.errors import UsageError
from seeder.metadata import COMPONENT_TYPES, child_text, read_xml_file
from seeder.model import Record

from .demo_reference import set_lookup

__all__ = ["CONNECTION_REFERENCE_COMPONENT_TYPE", "DEMO_SOLUTION", "demo_solution_rows"]

DEMO_SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "SeederDemo"
CONNECTION_REFERENCE_COMPONENT_TYPE = 10132
"""The componenttype this emulator gives connection references (a per-environment number in Dataverse)."""
_NAMESPACE = uuid.UUID("0f5d3c1e-7a2b-4c8d-9e6f-1a2b3c4d5e6f")
_INSTALLED = "2024-06-01T09:00:00Z"


def _id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name.lower()}"))


def bare_guid(guid: str | None) -> str:
    """A GUID as solution files write it (``{ABC-...}``) in the Web API's form (``abc-...``)."""
    return (guid or "").strip().strip("{}").lower()


def label_text(element: etree._Element, tag: str) -> str:
    """The text of a localized label (``<tag><label description=.../></tag>``) or its default."""
    node = element.find(tag)
    if node is None:
        return ""
    label = node.find("label")
    return (label.get("description") if label is not None else None) or node.get("default") or ""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", path=str(path)) from None


def _json(path: Path) -> object:
    try:
        return json.loads(_read_text(path))
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}", path=str(path)) from None


def demo_solution_rows(root: Path = DEMO_SOLUTION) -> Iterator[tuple[str, Record]]:
    """``(table, record)`` component rows of the unpacked solution at ``root``, parents first."""
    root = Path(root)
    manifest_file = root / "Other" / "Solution.xml"
    if not manifest_file.is_file():
        raise FileNotFoundError(f"no unpacked solution at {root} (missing Other/Solution.xml)")
    manifest = read_xml_file(manifest_file).find("SolutionManifest")
    if manifest is None:
        raise UsageError(f"{manifest_file} has no SolutionManifest", path=str(manifest_file))
    publisher_xml = manifest.find("Publisher")
    unique = child_text(manifest, "UniqueName")
    solution_id = _id("solution", unique)
    components: list[tuple[str, int]] = []
    if publisher_xml is not None:
        publisher_name = child_text(publisher_xml, "UniqueName")
        publisher_id = _id("publisher", publisher_name)
        prefix = child_text(publisher_xml, "CustomizationOptionValuePrefix", "0")
        yield "publisher", {
            "publisherid": publisher_id, "uniquename": publisher_name,
            "friendlyname": _localized(publisher_xml) or publisher_name,
            "customizationprefix": child_text(publisher_xml, "CustomizationPrefix"),
            "customizationoptionvalueprefix": int(prefix) if prefix.isdigit() else 0,
        }
    solution: Record = {
        "solutionid": solution_id, "uniquename": unique, "friendlyname": _localized(manifest) or unique,
        "version": child_text(manifest, "Version", "1.0.0.0"), "ismanaged": child_text(manifest, "Managed") == "1",
        "isvisible": True, "installedon": _INSTALLED,
    }
    if publisher_xml is not None:
        set_lookup(solution, "publisherid", "publisher", publisher_id)
    yield "solution", solution

    connectors: dict[str, str] = {}
    for path in sorted((root / "Connectors").glob("*.xml")):
        row = _connector(path)
        connectors[row["connectorid"]] = row["name"]
        components.append((row["connectorid"], COMPONENT_TYPES["connector"]))
        yield "connector", row
    customizations = root / "Other" / "Customizations.xml"
    if customizations.is_file():
        for element in read_xml_file(customizations).findall("connectionreferences/connectionreference"):
            row = _connection_reference(element, connectors)
            components.append((row["connectionreferenceid"], CONNECTION_REFERENCE_COMPONENT_TYPE))
            yield "connectionreference", row
    for folder in sorted(p for p in (root / "environmentvariabledefinitions").glob("*") if p.is_dir()):
        for table, row in _environment_variable(folder):
            key = "environmentvariabledefinitionid" if table == "environmentvariabledefinition" else \
                "environmentvariablevalueid"
            components.append((row[key], COMPONENT_TYPES[table]))
            yield table, row
    for path in sorted((root / "Workflows").glob("*.json.data.xml")):
        row = _workflow(path)
        components.append((row["workflowid"], COMPONENT_TYPES["workflow"]))
        yield "workflow", row
    for path in sorted((root / "CanvasApps").glob("*.meta.xml")):
        row = _canvas_app(path)
        components.append((row["canvasappid"], COMPONENT_TYPES["canvasapp"]))
        yield "canvasapp", row
    for object_id, component_type in components:
        component: Record = {
            "solutioncomponentid": _id("solutioncomponent", f"{unique}:{object_id}"), "objectid": object_id,
            "componenttype": component_type, "rootcomponentbehavior": 0, "ismetadata": False,
            "createdon": _INSTALLED, "modifiedon": _INSTALLED,
        }
        set_lookup(component, "solutionid", "solution", solution_id)
        yield "solutioncomponent", component


def _localized(element: etree._Element) -> str:
    node = element.find("LocalizedNames/LocalizedName")
    return (node.get("description") or "") if node is not None else ""


def _connector(path: Path) -> Record:
    xml = read_xml_file(path)
    name = child_text(xml, "name")
    row: Record = {
        "connectorid": bare_guid(child_text(xml, "connectorid")) or _id("connector", name), "name": name,
        "displayname": child_text(xml, "displayname", name), "description": child_text(xml, "description"),
        "connectortype": int(child_text(xml, "connectortype", "1")),
        "iconbrandcolor": child_text(xml, "iconbrandcolor"),
        "connectorinternalid": name, "statecode": 0, "statuscode": 1,
    }
    for column in ("openapidefinition", "connectionparameters", "policytemplateinstances"):
        reference = child_text(xml, column)
        if reference:
            file = path.parent / reference.rsplit("/", 1)[-1]
            row[column] = _read_text(file).strip() if file.is_file() else ""
    return row


def _connection_reference(element: etree._Element, connectors: dict[str, str]) -> Record:
    logical = element.get("connectionreferencelogicalname") or ""
    row: Record = {
        "connectionreferenceid": _id("connectionreference", logical), "connectionreferencelogicalname": logical,
        "connectionreferencedisplayname": child_text(element, "connectionreferencedisplayname", logical),
        "connectorid": child_text(element, "connectorid"), "description": child_text(element, "description"),
        "promptingbehavior": int(child_text(element, "promptingbehavior", "0")),
        "statecode": int(child_text(element, "statecode", "0")),
        "statuscode": int(child_text(element, "statuscode", "1")),
    }
    custom = bare_guid(child_text(element, "customconnectorid/connectorid"))
    if custom and custom in connectors:
        set_lookup(row, "customconnectorid", "connector", custom)
    return row


def _environment_variable(folder: Path) -> Iterator[tuple[str, Record]]:
    xml = read_xml_file(folder / "environmentvariabledefinition.xml")
    schema_name = xml.get("schemaname") or folder.name
    definition_id = _id("environmentvariabledefinition", schema_name)
    definition: Record = {
        "environmentvariabledefinitionid": definition_id, "schemaname": schema_name,
        "displayname": label_text(xml, "displayname") or schema_name, "description": label_text(xml, "description"),
        "type": int(child_text(xml, "type", "100000000")), "isrequired": child_text(xml, "isrequired") == "1",
        "statecode": 0, "statuscode": 1,
    }
    default = xml.find("defaultvalue")
    if default is not None:
        definition["defaultvalue"] = default.text or ""
    yield "environmentvariabledefinition", definition
    values_file = folder / "environmentvariablevalues.json"
    if values_file.is_file():
        data = _json(values_file)
        value = data.get("environmentvariablevalues", {}).get("environmentvariablevalue") if isinstance(data, dict) \
            else None
        for item in value if isinstance(value, list) else [value] if isinstance(value, dict) else []:
            row: Record = {
                "environmentvariablevalueid": bare_guid(str(item.get("@environmentvariablevalueid", "")))
                or _id("environmentvariablevalue", schema_name), "schemaname": schema_name,
                "value": str(item.get("value", "")), "statecode": 0, "statuscode": 1,
            }
            set_lookup(row, "environmentvariabledefinitionid", "environmentvariabledefinition", definition_id)
            yield "environmentvariablevalue", row


def _workflow(data_file: Path) -> Record:
    xml = read_xml_file(data_file)
    workflow_id = bare_guid(xml.get("WorkflowId") or "")
    json_file = data_file.parent / data_file.name.removesuffix(".data.xml")
    clientdata = json.dumps(_json(json_file), separators=(",", ":"), ensure_ascii=False)
    return {
        "workflowid": workflow_id, "workflowidunique": _id("workflowunique", workflow_id),
        "name": xml.get("Name") or json_file.stem, "category": int(child_text(xml, "Category", "5")),
        "type": int(child_text(xml, "Type", "1")), "primaryentity": child_text(xml, "PrimaryEntity", "none"),
        "mode": int(child_text(xml, "Mode", "0")), "scope": int(child_text(xml, "Scope", "4")),
        "ondemand": child_text(xml, "OnDemand") == "1", "clientdata": clientdata, "ismanaged": False,
        "uniquename": json_file.stem.rsplit("-", 5)[0].lower(),
        # imported flows stay off until their connection references point at connections
        "statecode": 0, "statuscode": 1,
    }


def _canvas_app(path: Path) -> Record:
    xml = read_xml_file(path)
    name = child_text(xml, "Name")
    row: Record = {
        "canvasappid": _id("canvasapp", name), "uniquecanvasappid": _id("canvasappunique", name), "name": name,
        "displayname": child_text(xml, "DisplayName", name), "description": child_text(xml, "Description"),
        "appversion": child_text(xml, "AppVersion"), "status": child_text(xml, "Status"),
        "tags": child_text(xml, "Tags"), "canvasapptype": int(child_text(xml, "CanvasAppType", "0")),
        "bypassconsent": child_text(xml, "BypassConsent") == "1", "ismanaged": False,
    }
    for column, tag in (("connectionreferences", "ConnectionReferences"), ("databasereferences", "DatabaseReferences"),
                        ("appcomponents", "AppComponents"), ("appcomponentdependencies", "AppComponentDependencies")):
        row[column] = child_text(xml, tag)
    return row
