"""``ImportSolution`` semantics: upsert a :class:`SolutionPackage`'s rows, apply ``ComponentParameters``, then
turn flows on where the activation rules allow.

Rows are matched to existing ones by their natural key (publisher/solution ``uniquename``, connector and
canvas app ``name``, connection reference logical name, variable ``schemaname``, value by definition,
flow by ``workflowid``), so a re-import or an import into a copied sandbox keeps the target's ids,
connection ids and per-environment app ids. A managed package does not overwrite an unmanaged row unless
``OverwriteUnmanagedCustomizations`` is true. Flows are written off; afterwards each flow the package
records as on (when ``PublishWorkflows`` is true) or that was on before is turned on through the normal
write path (:mod:`.flow_rules`), children before parents; a flow that cannot be turned on stays off and is
reported in the import log. Everything runs in one transaction: a failing import leaves nothing behind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from seeder.metadata import COMPONENT_TYPES
from seeder.model import LOOKUP_LOGICALNAME, Record

from .demo_solution import CONNECTION_REFERENCE_COMPONENT_TYPE
from .env import Environment
from .errors import ApiError
from .http import Request
from .solution_zip import SolutionPackage, invalid, row_id
from .writes import WriteBody, create_row, update_row

__all__ = ["ImportOutcome", "import_package"]

NATURAL_KEYS = {"publisher": "uniquename", "solution": "uniquename", "connector": "name", "canvasapp": "name",
                "connectionreference": "connectionreferencelogicalname", "environmentvariabledefinition": "schemaname"}
_TYPES = {**COMPONENT_TYPES, "connectionreference": CONNECTION_REFERENCE_COMPONENT_TYPE}


@dataclass
class ImportOutcome:
    """What an import did, rendered as the import job's ``data`` XML."""

    solution: str
    created: int = 0
    updated: int = 0
    kept: int = 0
    flows_on: list[str] = field(default_factory=list)
    flows_off: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_xml(self, succeeded: bool = True, error: str | None = None) -> str:
        result = "success" if succeeded else "failure"
        parts = [f'<importexportxml><solutionManifests><solutionManifest languagecode="1033" '
                 f'uniquename={quoteattr(self.solution)}><result result="{result}"'
                 f' errortext={quoteattr(error or "")} /></solutionManifest></solutionManifests>',
                 f'<summary created="{self.created}" updated="{self.updated}" kept="{self.kept}" />', "<workflows>"]
        parts += [f"<workflow id={quoteattr(w)} state=\"on\" />" for w in self.flows_on]
        parts += [f"<workflow id={quoteattr(w)} state=\"off\" reason={quoteattr(r)} />" for w, r in self.flows_off]
        parts.append("</workflows><warnings>")
        parts += [f"<warning text={quoteattr(w)} />" for w in self.warnings]
        parts.append("</warnings></importexportxml>")
        return "".join(parts)


def _remap(record: Record, ids: dict[tuple[str, str], str]) -> Record:
    out = dict(record)
    for key, value in record.items():
        if key.startswith("_") and key.endswith("_value") and isinstance(value, str):
            target = record.get(key + LOOKUP_LOGICALNAME)
            if isinstance(target, str) and (target, value.lower()) in ids:
                out[key] = ids[(target, value.lower())]
    return out


def _existing(env: Environment, table: str, record: Record, pid: str) -> str | None:
    key = NATURAL_KEYS.get(table)
    if key is not None and record.get(key):
        return env.store.find_by_key(table, {key: record[key]})
    if table == "environmentvariablevalue":
        definition = record.get("_environmentvariabledefinitionid_value")
        if isinstance(definition, str):
            return env.store.find_by_key(table, {"environmentvariabledefinitionid": definition.lower()})
    pid_value = str(record.get(pid) or "").lower()
    return pid_value if pid_value and env.store.exists(table, pid_value) else None


def import_package(env: Environment, req: Request, package: SolutionPackage, *, overwrite: bool = True,
                   publish_workflows: bool = True, parameters: Any = None) -> ImportOutcome:
    """Apply ``package`` to ``env`` (all or nothing) and report what happened."""
    outcome = ImportOutcome(package.unique_name)
    if "solution" not in env.store.tables:
        raise invalid("This organisation has no solution tables.")
    with env.store.transaction():
        ids: dict[tuple[str, str], str] = {}
        components: list[tuple[str, str]] = []
        was_on: set[str] = set()
        for table, record in package.rows:
            if table not in env.store.tables:
                outcome.warnings.append(f"{table} rows are not supported here and were skipped.")
                continue
            st = env.store.tables[table]
            record = _remap(record, ids)
            zip_id = str(record[st.primary_id]).lower()
            target = _existing(env, table, record, st.primary_id)
            row = env.store.get(table, target) if target else None
            values = env.storage_row(st.table, record)
            values.pop(st.primary_id, None)
            if table == "workflow":
                values["statecode"], values["statuscode"] = 0, 1
                if row is not None and row.get("statecode") == 1:
                    was_on.add(zip_id)
            if row is None or target is None:
                target = create_row(env, req, st, WriteBody(values=values, row_id=zip_id))
                outcome.created += 1
            elif package.managed and not overwrite and not row.get("ismanaged"):
                outcome.kept += 1
            else:
                if table == "canvasapp":
                    values.pop("canvasappid", None)
                update_row(env, req, st, target, WriteBody(values=values))
                outcome.updated += 1
            if table == "canvasapp":
                current = env.store.get(table, target) or {}
                if not current.get("uniquecanvasappid"):  # the per-environment app id
                    env.store.update(table, target, {"uniquecanvasappid": str(uuid.uuid5(
                        uuid.UUID(env.org.organization_id), f"canvasapp:{target}"))})
            ids[(table, zip_id)] = target
            if table in _TYPES:
                components.append((table, target))
        _components(env, req, package, ids, components)
        _parameters(env, req, parameters, outcome)
        wanted = [wid for wid, on in package.wanted_on.items() if (on and publish_workflows) or wid in was_on]
        _activate(env, req, [ids.get(("workflow", w), w) for w in sorted(wanted)], outcome)
    return outcome


def _components(env: Environment, req: Request, package: SolutionPackage, ids: dict[tuple[str, str], str],
                components: list[tuple[str, str]]) -> None:
    if "solutioncomponent" not in env.store.tables:
        return
    st = env.store.tables["solutioncomponent"]
    solution_id = ids[("solution", row_id("solution", package.unique_name))]
    for table, object_id in components:
        if env.store.find_by_key(st.name, {"solutionid": solution_id, "objectid": object_id}) is not None:
            continue
        values = {"objectid": object_id, "componenttype": _TYPES[table], "rootcomponentbehavior": 0,
                  "ismetadata": 0, "solutionid": solution_id, "solutionid__lt": "solution"}
        create_row(env, req, st, WriteBody(values=values, row_id=row_id("solutioncomponent",
                                                                        f"{solution_id}:{object_id}")))


def _parameters(env: Environment, req: Request, parameters: Any, outcome: ImportOutcome) -> None:
    if parameters is None:
        return
    if not isinstance(parameters, list):
        raise invalid("ComponentParameters must be an array of entities.")
    for i, item in enumerate(parameters):
        if not isinstance(item, dict):
            raise invalid(f"ComponentParameters[{i}] is not an entity.")
        kind = str(item.get("@odata.type", "")).lstrip("#").removeprefix("Microsoft.Dynamics.CRM.")
        if kind == "connectionreference":
            logical, connection = item.get("connectionreferencelogicalname"), item.get("connectionid")
            if not isinstance(logical, str) or not isinstance(connection, str | None):
                raise invalid(f"ComponentParameters[{i}] needs connectionreferencelogicalname and connectionid.")
            target = env.store.find_by_key(kind, {"connectionreferencelogicalname": logical})
            if target is None:
                outcome.warnings.append(f"ComponentParameters[{i}]: connection reference '{logical}' is not in "
                                        "this organisation; ignored.")
                continue
            update_row(env, req, env.store.tables[kind], target, WriteBody(values={"connectionid": connection}))
        elif kind == "environmentvariablevalue":
            _variable_value(env, req, i, item, outcome)
        else:
            raise invalid(f"ComponentParameters[{i}] has @odata.type '{kind or '(none)'}'; use Microsoft.Dynamics."
                          "CRM.connectionreference or Microsoft.Dynamics.CRM.environmentvariablevalue.")


def _variable_value(env: Environment, req: Request, i: int, item: dict[str, Any], outcome: ImportOutcome) -> None:
    schema_name, value = item.get("schemaname"), item.get("value")
    if not isinstance(schema_name, str) or not isinstance(value, str):
        raise invalid(f"ComponentParameters[{i}] needs schemaname and a string value.")
    definition = env.store.find_by_key("environmentvariabledefinition", {"schemaname": schema_name})
    if definition is None:
        outcome.warnings.append(f"ComponentParameters[{i}]: environment variable '{schema_name}' is not defined "
                                "here; ignored.")
        return
    st = env.store.tables["environmentvariablevalue"]
    existing = env.store.find_by_key(st.name, {"environmentvariabledefinitionid": definition})
    if existing is not None:
        update_row(env, req, st, existing, WriteBody(values={"value": value}))
        return
    create_row(env, req, st, WriteBody(values={"value": value, "schemaname": schema_name,
                                               "environmentvariabledefinitionid": definition,
                                               "environmentvariabledefinitionid__lt": "environmentvariabledefinition"},
                                       row_id=str(item.get("environmentvariablevalueid") or "") or None))


def _activate(env: Environment, req: Request, pending: list[str], outcome: ImportOutcome) -> None:
    """Turn ``pending`` flows on, repeating while any succeeds (children come on before their parents)."""
    st = env.store.tables["workflow"]
    reasons: dict[str, str] = {}
    progress = True
    while pending and progress:
        progress = False
        for wid in list(pending):
            try:
                update_row(env, req, st, wid, WriteBody(values={"statecode": 1}))
            except ApiError as err:
                reasons[wid] = err.message
                continue
            pending.remove(wid)
            outcome.flows_on.append(wid)
            progress = True
    outcome.flows_off.extend((wid, reasons.get(wid, "")) for wid in pending)
