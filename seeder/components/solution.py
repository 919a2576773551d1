"""Read the Power Platform components of a solution: a ``pac solution unpack`` folder or a solution ``.zip``.

Both layouts are understood:

* unpacked (SolutionPackager): ``Other/Solution.xml``, ``Other/Customizations.xml``, ``Workflows/*.json`` with
  ``*.json.data.xml``, ``environmentvariabledefinitions/<schema>/``, ``CanvasApps/*.meta.xml``, ``Connectors/*.xml``;
* exported zip (or a folder it was extracted to): ``solution.xml``, ``customizations.xml`` (with ``<Workflows>``,
  ``<CanvasApps>``, ``<Connectors>``), ``Workflows/*.json``, ``environmentvariabledefinitions/``.

:func:`read_solution` returns :class:`SolutionContents`. Unreadable parts become findings, never crashes;
only a missing or unsafe solution raises :class:`~seeder.errors.ComponentError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from seeder.components.flows import parse_clientdata
from seeder.components.items import (
    CanvasApp,
    ConnectionReference,
    CustomConnector,
    EnvironmentVariable,
    Finding,
    Flow,
    SolutionInfo,
    normalise_id,
)
from seeder.components.sources import SolutionFiles, parse_json, parse_xml
from seeder.errors import ComponentError

__all__ = ["SolutionContents", "read_solution"]

_FILE_GUID = re.compile(r"-([0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12})\.json$")


@dataclass
class SolutionContents:
    """Everything :func:`read_solution` found, in file order; ``ComponentSet`` sorts and analyses it."""

    solution: SolutionInfo
    flows: list[Flow] = field(default_factory=list)
    connection_references: list[ConnectionReference] = field(default_factory=list)
    environment_variables: list[EnvironmentVariable] = field(default_factory=list)
    canvas_apps: list[CanvasApp] = field(default_factory=list)
    custom_connectors: list[CustomConnector] = field(default_factory=list)
    root_components: list[tuple[int, str]] = field(default_factory=list)
    classic_workflows: int = 0
    findings: list[Finding] = field(default_factory=list)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child(elem: etree._Element, name: str) -> etree._Element | None:
    lname = name.lower()
    for child in elem:
        if _local(child.tag).lower() == lname:
            return child
    return None


def _text(elem: etree._Element, name: str) -> str:
    child = _child(elem, name)
    return (child.text or "").strip() if child is not None else ""


def _all(root: etree._Element, name: str) -> list[etree._Element]:
    lname = name.lower()
    return [e for e in root.iter() if _local(e.tag).lower() == lname]


def _int(value: str, default: int | None = None) -> int | None:
    try:
        return int(value)
    except ValueError:
        return default


def _label(elem: etree._Element, name: str) -> str:
    child = _child(elem, name)
    if child is None:
        return ""
    default = child.get("default")
    if default:
        return default
    for sub in child.iter():
        desc = sub.get("description")
        if desc:
            return desc
    return (child.text or "").strip()


def _find(files: SolutionFiles, *candidates: str) -> str | None:
    for candidate in candidates:
        if files.exists(candidate):
            return candidate
    return None


def _locate_root(files: SolutionFiles) -> str:
    """The folder (lower-case, '' or 'x/') holding Other/Solution.xml or solution.xml."""
    best: str | None = None
    for path in files.paths():
        if path.endswith("other/solution.xml") or path == "solution.xml" or path.endswith("/solution.xml"):
            prefix = path[: -len("other/solution.xml")] if path.endswith("other/solution.xml") else path[:-12]
            if best is None or len(prefix) < len(best):
                best = prefix
    if best is None:
        raise ComponentError(
            f"{files.label} has no Solution.xml",
            hint="give an unpacked solution folder (Other/Solution.xml) or an exported solution .zip",
        )
    return best


def _read_manifest(files: SolutionFiles, path: str, out: SolutionContents) -> None:
    data = files.read(path)
    assert data is not None
    root = parse_xml(data, what=files.real_name(path))
    manifest = next(iter(_all(root, "SolutionManifest")), None)
    if manifest is None:
        raise ComponentError(f"{files.real_name(path)} has no <SolutionManifest>")
    publisher = _child(manifest, "Publisher")
    names = _child(manifest, "LocalizedNames")
    friendly = ""
    if names is not None:
        friendly = next((n.get("description") or "" for n in names if n.get("description")), "")
    out.solution = SolutionInfo(
        unique_name=_text(manifest, "UniqueName"),
        version=_text(manifest, "Version"),
        publisher=_text(publisher, "UniqueName") if publisher is not None else "",
        publisher_prefix=_text(publisher, "CustomizationPrefix") if publisher is not None else "",
        managed=_text(manifest, "Managed") == "1",
        friendly_name=friendly,
    )
    roots = _child(manifest, "RootComponents")
    for rc in roots if roots is not None else ():
        ctype = _int(rc.get("type") or "", -1)
        ident = normalise_id(rc.get("id")) or rc.get("schemaName") or ""
        out.root_components.append((ctype if ctype is not None else -1, ident))


def _workflow_meta(elem: etree._Element) -> dict[str, Any]:
    return {
        "id": normalise_id(elem.get("WorkflowId")) or "",
        "name": elem.get("Name") or _label(elem, "LocalizedNames"),
        "json": _text(elem, "JsonFileName").strip("/").lower(),
        "category": _int(_text(elem, "Category"), None),
        "state": _int(_text(elem, "StateCode"), None),
    }


def _read_flows(files: SolutionFiles, base: str, custom: etree._Element | None, out: SolutionContents) -> None:
    metas: list[dict[str, Any]] = []
    if custom is not None:
        metas += [_workflow_meta(w) for w in _all(custom, "Workflow")]
    for path in files.glob(base + "workflows", ".data.xml"):
        data = files.read(path)
        try:
            root = parse_xml(data or b"", what=files.real_name(path))
        except ComponentError as exc:
            out.findings.append(Finding("warning", "unreadable-workflow", exc.message, path))
            continue
        meta = _workflow_meta(root)
        if not meta["json"] and path.endswith(".json.data.xml"):
            meta["json"] = path[len(base):-len(".data.xml")]
        metas.append(meta)
    seen: dict[str, dict[str, Any]] = {}
    for meta in metas:
        if meta["json"].endswith(".json") or meta["category"] == 5:
            seen.setdefault(meta["json"] or meta["id"], meta)
        else:
            out.classic_workflows += 1
    for path in files.glob(base + "workflows", ".json"):
        rel = path[len(base):]
        if rel not in seen:
            match = _FILE_GUID.search(path)
            seen[rel] = {"id": normalise_id(match.group(1)) if match else "", "json": rel, "state": None,
                         "name": Path(path).stem, "category": 5}
    for key in sorted(seen):
        meta = seen[key]
        state = {0: "off", 1: "on", 2: "suspended"}.get(meta["state"], "unknown")
        definition = None
        jpath = base + meta["json"] if meta["json"] else ""
        data = files.read(jpath) if jpath else None
        if data is None:
            out.findings.append(Finding("warning", "flow-definition-missing",
                                        f"flow {meta['name']!r} has no definition file {meta['json'] or '(none)'}",
                                        meta["name"]))
        else:
            try:
                definition = parse_clientdata(data, what=files.real_name(jpath))
            except ComponentError as exc:
                out.findings.append(Finding("error", "unreadable-flow", exc.message, meta["name"]))
        out.flows.append(Flow(id=meta["id"], name=meta["name"], state=state, definition=definition))


def _read_connection_references(custom: etree._Element, out: SolutionContents) -> None:
    for cr in _all(custom, "connectionreference"):
        logical = cr.get("connectionreferencelogicalname") or _text(cr, "connectionreferencelogicalname")
        if not logical:
            continue
        custom_id = None
        cc = _child(cr, "customconnectorid")
        if cc is not None:
            custom_id = normalise_id(_text(cc, "connectorid") or (cc.text or ""))
        out.connection_references.append(ConnectionReference(
            logical_name=logical,
            connector=_text(cr, "connectorid"),
            display_name=_text(cr, "connectionreferencedisplayname"),
            custom_connector_id=custom_id,
        ))


def _env_var(elem: etree._Element, files: SolutionFiles, folder: str, out: SolutionContents) -> None:
    schema = elem.get("schemaname") or _text(elem, "schemaname")
    if not schema:
        return
    current = None
    value_path = folder + "environmentvariablevalues.json" if folder else ""
    data = files.read(value_path) if value_path else None
    if data is not None:
        try:
            doc = parse_json(data, what=files.real_name(value_path))
            values = doc.get("environmentvariablevalues", {}).get("environmentvariablevalue") if isinstance(
                doc, dict) else None
            first = values[0] if isinstance(values, list) and values else values
            if isinstance(first, dict) and first.get("value") is not None:
                current = str(first["value"])
        except (ComponentError, AttributeError) as exc:
            message = exc.message if isinstance(exc, ComponentError) else f"{value_path}: unexpected shape"
            out.findings.append(Finding("warning", "unreadable-environment-variable-value", message, schema))
    default = _child(elem, "defaultvalue")
    out.environment_variables.append(EnvironmentVariable(
        schema_name=schema,
        type=_int(_text(elem, "type"), 100000000) or 100000000,
        display_name=_label(elem, "displayname"),
        default_value=(default.text or "") if default is not None else None,
        current_value=current,
        is_required=_text(elem, "isrequired") == "1",
    ))


def _read_environment_variables(files: SolutionFiles, base: str, custom: etree._Element | None,
                                out: SolutionContents) -> None:
    seen: set[str] = set()
    for path in files.glob(base + "environmentvariabledefinitions", "/environmentvariabledefinition.xml"):
        data = files.read(path)
        try:
            root = parse_xml(data or b"", what=files.real_name(path))
        except ComponentError as exc:
            out.findings.append(Finding("warning", "unreadable-environment-variable", exc.message, path))
            continue
        before = len(out.environment_variables)
        _env_var(root, files, path[: -len("environmentvariabledefinition.xml")], out)
        seen.update(v.schema_name for v in out.environment_variables[before:])
    if custom is not None:
        for elem in _all(custom, "environmentvariabledefinition"):
            schema = elem.get("schemaname") or ""
            if schema and schema not in seen:
                _env_var(elem, files, "", out)


def _canvas_app(elem: etree._Element) -> CanvasApp:
    connectors: set[str] = set()
    raw = _text(elem, "ConnectionReferences")
    if raw:
        try:
            refs = parse_json(raw, what="canvas app ConnectionReferences")
        except ComponentError:
            refs = {}
        if isinstance(refs, dict):
            connectors.update(str(v["id"]) for v in refs.values() if isinstance(v, dict) and v.get("id"))
    return CanvasApp(name=_text(elem, "Name"), display_name=_text(elem, "DisplayName"),
                     app_id=normalise_id(_text(elem, "CanvasAppId") or None), connectors=tuple(sorted(connectors)))


def _elements(files: SolutionFiles, custom: etree._Element | None, tag: str, folder: str, suffix: str,
              finding: str, out: SolutionContents) -> list[etree._Element]:
    """``tag`` elements of Customizations.xml plus the component files under ``folder``; an unreadable file
    becomes a ``finding`` warning."""
    elems: list[etree._Element] = list(_all(custom, tag)) if custom is not None else []
    for path in files.glob(folder, suffix):
        try:
            elems.append(parse_xml(files.read(path) or b"", what=files.real_name(path)))
        except ComponentError as exc:
            out.findings.append(Finding("warning", finding, exc.message, path))
    return elems


def _read_canvas_apps(files: SolutionFiles, base: str, custom: etree._Element | None, out: SolutionContents) -> None:
    elems = _elements(files, custom, "CanvasApp", base + "canvasapps", ".meta.xml", "unreadable-canvas-app", out)
    names = set()
    for elem in elems:
        app = _canvas_app(elem)
        if app.name and app.name not in names:
            names.add(app.name)
            out.canvas_apps.append(app)
    for ctype, ident in out.root_components:
        if ctype == 300 and ident and ident not in names:
            names.add(ident)
            out.canvas_apps.append(CanvasApp(name=ident, packaged=False))


def _read_custom_connectors(files: SolutionFiles, base: str, custom: etree._Element | None,
                            out: SolutionContents) -> None:
    elems = _elements(files, custom, "Connector", base + "connectors", ".xml", "unreadable-connector", out)
    names = set()
    for elem in elems:
        name = _text(elem, "name")
        if name and name not in names:
            names.add(name)
            out.custom_connectors.append(CustomConnector(
                name=name, display_name=_text(elem, "displayname"),
                id=normalise_id(_text(elem, "connectorid") or None),
                connector_type=_int(_text(elem, "connectortype"), None)))


def read_solution(path: Path) -> SolutionContents:
    """Read the components of an unpacked solution folder or a solution zip."""
    with SolutionFiles.open(path) as files:
        base = _locate_root(files)
        out = SolutionContents(solution=SolutionInfo(unique_name=""))
        manifest = _find(files, base + "other/solution.xml", base + "solution.xml")
        assert manifest is not None
        _read_manifest(files, manifest, out)
        custom_path = _find(files, base + "other/customizations.xml", base + "customizations.xml")
        custom = None
        if custom_path is None:
            out.findings.append(Finding("warning", "customizations-missing",
                                        "the solution has no Customizations.xml", out.solution.unique_name))
        else:
            try:
                custom = parse_xml(files.read(custom_path) or b"", what=files.real_name(custom_path))
            except ComponentError as exc:
                out.findings.append(Finding("error", "unreadable-customizations", exc.message, custom_path))
        if custom is not None:
            _read_connection_references(custom, out)
        _read_flows(files, base, custom, out)
        _read_environment_variables(files, base, custom, out)
        _read_canvas_apps(files, base, custom, out)
        _read_custom_connectors(files, base, custom, out)
        return out
