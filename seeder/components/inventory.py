"""``ComponentSet``: the inventory of Power Platform components in a solution or an environment, with findings.

Build one with :meth:`ComponentSet.from_solution` (unpacked folder or zip) or :meth:`ComponentSet.from_rows`
(``workflow``, ``connectionreference``, ``environmentvariabledefinition``, ``environmentvariablevalue``,
``canvasapp``, ``connector``, ``solution``, ``solutioncomponent`` rows as the Web API returns them — a
snapshot's ``components/`` holds exactly these). :meth:`ComponentSet.dependencies` answers "what depends on
what"; :attr:`ComponentSet.findings` lists what will break a copy (a flow using a reference nobody declares,
a legacy flow bound to a connection directly, an environment variable with no value, ...).

Rows may carry ``@seeder.sharedwith`` (list of principal ids) on ``canvasapp`` rows: the principals the source
app was shared with, recorded at export time because sharing is not a column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from seeder.components.flows import connector_key, parse_clientdata
from seeder.components.items import (
    FLOW_STATES,
    CanvasApp,
    ConnectionReference,
    CustomConnector,
    EnvironmentVariable,
    Finding,
    Flow,
    SolutionInfo,
    normalise_id,
)
from seeder.components.solution import read_solution
from seeder.components.sources import parse_json
from seeder.errors import ComponentError
from seeder.model import Record

__all__ = ["COMPONENT_TABLES", "SHARED_WITH_KEY", "ComponentSet"]

SHARED_WITH_KEY = "@seeder.sharedwith"
COMPONENT_TABLES = (
    "workflow", "connectionreference", "environmentvariabledefinition", "environmentvariablevalue",
    "canvasapp", "connector", "solution", "solutioncomponent",
)
_ENTITY_SETS = {t + "s": t for t in COMPONENT_TABLES}


@dataclass(frozen=True)
class ComponentSet:
    """Components sorted by name, plus findings. Build with the class methods; the constructor doesn't analyse."""

    solutions: tuple[SolutionInfo, ...] = ()
    flows: tuple[Flow, ...] = ()
    connection_references: tuple[ConnectionReference, ...] = ()
    environment_variables: tuple[EnvironmentVariable, ...] = ()
    canvas_apps: tuple[CanvasApp, ...] = ()
    custom_connectors: tuple[CustomConnector, ...] = ()
    classic_workflows: int = 0
    source: str = "solution"
    findings: tuple[Finding, ...] = field(default=())

    # ----------------------------------------------------------------------------------------- building

    @classmethod
    def build(cls, *, source: str, solutions: Iterable[SolutionInfo] = (), flows: Iterable[Flow] = (),
              connection_references: Iterable[ConnectionReference] = (),
              environment_variables: Iterable[EnvironmentVariable] = (), canvas_apps: Iterable[CanvasApp] = (),
              custom_connectors: Iterable[CustomConnector] = (), classic_workflows: int = 0,
              findings: Iterable[Finding] = ()) -> ComponentSet:
        """Sort everything and add the findings of :meth:`analyse`."""
        draft = cls(
            solutions=tuple(sorted(solutions, key=lambda s: s.unique_name)),
            flows=tuple(sorted(flows, key=lambda f: (f.name.lower(), f.id))),
            connection_references=tuple(sorted(connection_references, key=lambda c: c.logical_name.lower())),
            environment_variables=tuple(sorted(environment_variables, key=lambda e: e.schema_name.lower())),
            canvas_apps=tuple(sorted(canvas_apps, key=lambda a: a.name.lower())),
            custom_connectors=tuple(sorted(custom_connectors, key=lambda c: c.name.lower())),
            classic_workflows=classic_workflows,
            source=source,
        )
        every = {(f.severity, f.code, f.component, f.message): f for f in [*findings, *draft.analyse()]}
        return replace(draft, findings=tuple(sorted(every.values(), key=lambda f: f.sort_key)))

    @classmethod
    def from_solution(cls, path: Path) -> ComponentSet:
        """Inventory of an unpacked solution folder or a solution zip."""
        read = read_solution(path)
        return cls.build(source="solution", solutions=[read.solution], flows=read.flows,
                         connection_references=read.connection_references,
                         environment_variables=read.environment_variables, canvas_apps=read.canvas_apps,
                         custom_connectors=read.custom_connectors, classic_workflows=read.classic_workflows,
                         findings=read.findings)

    @classmethod
    def from_rows(cls, rows_by_table: Mapping[str, Iterable[Record]]) -> ComponentSet:
        """Inventory of Web API rows keyed by table logical name (entity set names are accepted too)."""
        rows: dict[str, list[Record]] = {}
        for table, records in rows_by_table.items():
            name = _ENTITY_SETS.get(table, table)
            rows.setdefault(name, []).extend(records)
        findings: list[Finding] = []
        flows, classic = _flows_from_rows(rows.get("workflow", []), findings)
        refs = [_reference_from_row(r) for r in rows.get("connectionreference", [])
                if r.get("connectionreferencelogicalname")]
        return cls.build(
            source="environment",
            solutions=[_solution_from_row(r) for r in rows.get("solution", []) if r.get("uniquename")],
            flows=flows, connection_references=refs,
            environment_variables=_env_vars_from_rows(rows.get("environmentvariabledefinition", []),
                                                      rows.get("environmentvariablevalue", [])),
            canvas_apps=[_canvas_app_from_row(r) for r in rows.get("canvasapp", []) if r.get("name")],
            custom_connectors=[_connector_from_row(r) for r in rows.get("connector", []) if r.get("name")],
            classic_workflows=classic, findings=findings,
        )

    # ----------------------------------------------------------------------------------------- analysis

    def analyse(self) -> list[Finding]:
        """The findings this inventory implies (see the module docstring)."""
        found: list[Finding] = []
        declared = {c.logical_name.lower(): c for c in self.connection_references}
        flow_ids = {f.id for f in self.flows}
        env_names = {e.schema_name.lower() for e in self.environment_variables}
        custom_ids = {c.id for c in self.custom_connectors if c.id}
        used: set[str] = set()
        for flow in self.flows:
            if flow.definition is None:
                continue
            for conn in flow.definition.connections:
                if conn.is_legacy:
                    found.append(Finding("warning", "legacy-connection",
                                         f"flow {flow.name!r} binds connection {conn.key!r} directly, without a "
                                         "connection reference; it cannot be re-wired until it uses one", flow.name))
                    continue
                assert conn.logical_name is not None
                used.add(conn.logical_name.lower())
                ref = declared.get(conn.logical_name.lower())
                if ref is None:
                    found.append(Finding("error", "undeclared-connection-reference",
                                         f"flow {flow.name!r} uses connection reference {conn.logical_name!r}, "
                                         f"which the {self._container} does not declare", flow.name))
                elif ref.connector and connector_key(ref.connector) != connector_key(conn.api_name):
                    found.append(Finding("warning", "connector-mismatch",
                                         f"flow {flow.name!r} uses {conn.logical_name!r} as {conn.api_name!r} but "
                                         f"the reference is for {ref.connector!r}", flow.name))
            for key in flow.definition.undeclared_keys:
                found.append(Finding("error", "undeclared-connection",
                                     f"flow {flow.name!r} has actions using connection {key!r}, which its "
                                     "connectionReferences do not declare", flow.name))
            for child in flow.child_flows:
                if child not in flow_ids:
                    found.append(Finding("warning", "unknown-child-flow",
                                         f"flow {flow.name!r} calls child flow {child} that is not in the "
                                         f"{self._container}", flow.name))
            for var in flow.environment_variables:
                if var.lower() not in env_names:
                    found.append(Finding("warning", "unknown-environment-variable",
                                         f"flow {flow.name!r} reads environment variable {var!r} that is not in "
                                         f"the {self._container}", flow.name))
        for ref in self.connection_references:
            if not ref.connection_id:
                severity = "info" if self.source == "solution" else "warning"
                found.append(Finding(severity, "connection-reference-unbound",
                                     f"connection reference {ref.logical_name!r} ({connector_key(ref.connector)}) "
                                     "has no connection; set one in deployment settings", ref.logical_name))
            if ref.custom_connector_id and ref.custom_connector_id not in custom_ids:
                found.append(Finding("warning", "custom-connector-missing",
                                     f"connection reference {ref.logical_name!r} needs custom connector "
                                     f"{ref.custom_connector_id}, which is not in the {self._container}",
                                     ref.logical_name))
            if ref.logical_name.lower() not in used and self.flows:
                found.append(Finding("info", "unused-connection-reference",
                                     f"no flow here uses connection reference {ref.logical_name!r}",
                                     ref.logical_name))
        for env in self.environment_variables:
            if env.effective_value is None and env.type != 100000004:
                found.append(Finding("warning", "environment-variable-without-value",
                                     f"environment variable {env.schema_name!r} has neither a current value "
                                     "nor a default", env.schema_name))
        for app in self.canvas_apps:
            if not app.packaged:
                found.append(Finding("info", "canvas-app-not-packaged",
                                     f"canvas app {app.name!r} is listed in the solution but its files are absent",
                                     app.name))
        return found

    @property
    def _container(self) -> str:
        return "solution" if self.source == "solution" else "environment"

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def flow(self, flow_id: str) -> Flow | None:
        key = normalise_id(flow_id)
        return next((f for f in self.flows if f.id == key), None)

    def connection_reference(self, logical_name: str) -> ConnectionReference | None:
        key = logical_name.lower()
        return next((c for c in self.connection_references if c.logical_name.lower() == key), None)

    def dependencies(self) -> dict[str, list[str]]:
        """What depends on what: ``{"flow:<id>": ["connectionreference:<name>", "flow:<child id>", ...], ...}``.

        Node names: ``flow:<workflowid>``, ``connectionreference:<logical name>``, ``connector:<api name>``,
        ``customconnector:<id>``, ``environmentvariable:<schema name>``, ``canvasapp:<name>``. Sorted; every
        component appears as a key even when it depends on nothing.
        """
        graph: dict[str, set[str]] = {}
        for flow in self.flows:
            deps = graph.setdefault(f"flow:{flow.id}", set())
            deps.update(f"connectionreference:{r}" for r in flow.connection_references)
            deps.update(f"flow:{c}" for c in flow.child_flows)
            deps.update(f"environmentvariable:{v}" for v in flow.environment_variables)
            if flow.definition:
                deps.update(f"connector:{c.api_name.lower()}" for c in flow.definition.legacy_connections)
        for ref in self.connection_references:
            deps = graph.setdefault(f"connectionreference:{ref.logical_name}", set())
            deps.add(f"customconnector:{ref.custom_connector_id}" if ref.custom_connector_id
                     else f"connector:{connector_key(ref.connector)}")
        refs_by_id = {c.id: c.logical_name for c in self.connection_references if c.id}
        for var in self.environment_variables:
            deps = graph.setdefault(f"environmentvariable:{var.schema_name}", set())
            if var.connection_reference_id and var.connection_reference_id in refs_by_id:
                deps.add(f"connectionreference:{refs_by_id[var.connection_reference_id]}")
        for app in self.canvas_apps:
            graph.setdefault(f"canvasapp:{app.name}", set()).update(f"connector:{connector_key(c)}"
                                                                     for c in app.connectors)
        for conn in self.custom_connectors:
            graph.setdefault(f"customconnector:{conn.id or conn.name}", set())
        return {node: sorted(deps) for node, deps in sorted(graph.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "solutions": [s.to_dict() for s in self.solutions],
            "flows": [f.to_dict() for f in self.flows],
            "connection_references": [c.to_dict() for c in self.connection_references],
            "environment_variables": [e.to_dict() for e in self.environment_variables],
            "canvas_apps": [a.to_dict() for a in self.canvas_apps],
            "custom_connectors": [c.to_dict() for c in self.custom_connectors],
            "classic_workflows": self.classic_workflows,
            "dependencies": self.dependencies(),
            "findings": [f.to_dict() for f in self.findings],
        }


# --------------------------------------------------------------------------------------------- rows


def _str(row: Record, key: str) -> str | None:
    value = row.get(key)
    return str(value) if value not in (None, "") else None


def _flows_from_rows(rows: Iterable[Record], findings: list[Finding]) -> tuple[list[Flow], int]:
    flows: list[Flow] = []
    classic = 0
    for row in rows:
        if row.get("category") != 5:
            classic += 1
            continue
        name = _str(row, "name") or _str(row, "workflowid") or "?"
        definition = None
        clientdata = row.get("clientdata")
        if clientdata:
            try:
                definition = parse_clientdata(clientdata, what=f"flow {name!r}")
            except ComponentError as exc:
                findings.append(Finding("error", "unreadable-flow", exc.message, name))
        else:
            findings.append(Finding("warning", "flow-definition-missing", f"flow {name!r} has no clientdata", name))
        state = row.get("statecode")
        flows.append(Flow(id=normalise_id(_str(row, "workflowid")) or "", name=name,
                          state=FLOW_STATES.get(state, "unknown") if isinstance(state, int) else "unknown",
                          owner=normalise_id(_str(row, "_ownerid_value")), definition=definition))
    return flows, classic


def _reference_from_row(row: Record) -> ConnectionReference:
    return ConnectionReference(
        logical_name=str(row["connectionreferencelogicalname"]), connector=_str(row, "connectorid") or "",
        display_name=_str(row, "connectionreferencedisplayname") or "", connection_id=_str(row, "connectionid"),
        custom_connector_id=normalise_id(_str(row, "_customconnectorid_value")),
        id=normalise_id(_str(row, "connectionreferenceid")), owner=normalise_id(_str(row, "_ownerid_value")))


def _env_vars_from_rows(definitions: Iterable[Record], values: Iterable[Record]) -> list[EnvironmentVariable]:
    by_def: dict[str, Record] = {}
    by_schema: dict[str, Record] = {}
    for value_row in values:
        def_id = normalise_id(_str(value_row, "_environmentvariabledefinitionid_value"))
        if def_id:
            by_def.setdefault(def_id, value_row)
        if _str(value_row, "schemaname"):
            by_schema.setdefault(str(value_row["schemaname"]).lower(), value_row)
    out = []
    for row in definitions:
        schema = _str(row, "schemaname")
        if not schema:
            continue
        def_id = normalise_id(_str(row, "environmentvariabledefinitionid"))
        value: Record | None = (by_def.get(def_id) if def_id else None) or by_schema.get(schema.lower())
        kind = row.get("type")
        out.append(EnvironmentVariable(
            schema_name=schema, type=kind if isinstance(kind, int) else 100000000,
            display_name=_str(row, "displayname") or "", default_value=_str(row, "defaultvalue"),
            current_value=_str(value, "value") if value else None, is_required=bool(row.get("isrequired")),
            id=def_id, value_id=normalise_id(_str(value, "environmentvariablevalueid")) if value else None,
            connection_reference_id=normalise_id(_str(row, "_connectionreferenceid_value"))))
    return out


def _canvas_app_from_row(row: Record) -> CanvasApp:
    connectors: set[str] = set()
    raw = row.get("connectionreferences")
    if isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            refs = parse_json(raw, what="canvas app connectionreferences")
        except ComponentError:
            refs = {}
        if isinstance(refs, dict):
            connectors.update(str(v["id"]) for v in refs.values() if isinstance(v, dict) and v.get("id"))
    shared = row.get(SHARED_WITH_KEY) or ()
    return CanvasApp(name=str(row["name"]), display_name=_str(row, "displayname") or "",
                     app_id=normalise_id(_str(row, "canvasappid")),
                     unique_app_id=normalise_id(_str(row, "uniquecanvasappid")),
                     connectors=tuple(sorted(connectors)),
                     shared_with=tuple(sorted({str(p).lower() for p in shared})),
                     owner=normalise_id(_str(row, "_ownerid_value")))


def _connector_from_row(row: Record) -> CustomConnector:
    kind = row.get("connectortype")
    return CustomConnector(name=str(row["name"]), display_name=_str(row, "displayname") or "",
                           id=normalise_id(_str(row, "connectorid")),
                           connector_type=kind if isinstance(kind, int) else None)


def _solution_from_row(row: Record) -> SolutionInfo:
    return SolutionInfo(unique_name=str(row["uniquename"]), version=_str(row, "version") or "",
                        managed=bool(row.get("ismanaged")), friendly_name=_str(row, "friendlyname") or "",
                        id=normalise_id(_str(row, "solutionid")),
                        publisher=normalise_id(_str(row, "_publisherid_value")) or "")
