"""Re-wiring a restored environment and validating it: Microsoft's post-copy checklist, executed.

* :func:`generate_settings` proposes deployment settings for a snapshot's components from the target's
  connections (matching each connection reference's connector) and flags what it could not match.
* :func:`rewire` reads the target's components, plans the work with
  :func:`seeder.components.plan_rewire` and carries each action to the environment: custom connectors,
  connection-reference bindings, environment-variable values, then flows turned on child-first under the
  intended owner. ``phase="before-data"`` runs only the actions that must happen before data loads
  (turning flows off so seeding sends no e-mail). An action the service refuses becomes a finding.
* :func:`import_missing_solutions` imports (ImportSolutionAsync with the deployment settings as
  ComponentParameters) each solution the snapshot carries and the target lacks, before data loads.
* :func:`validate_target` gathers the facts (flows, references, variables, connectors, apps, admin mode,
  mailboxes) and runs :func:`seeder.components.validate`.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from seeder.components import (
    SHARED_WITH_KEY,
    Action,
    ComponentSet,
    DeploymentSettings,
    Finding,
    MailboxFact,
    SettingsProposal,
    TargetState,
    ValidationReport,
    facts_from_components,
    plan_rewire,
    principal_of,
    propose_settings,
    share_keys,
    validate,
)
from seeder.dataverse import Environment
from seeder.errors import DataverseError
from seeder.model import COMPONENT_TABLES, Record
from seeder.records import clean_record
from seeder.snapshot import Snapshot

__all__ = [
    "RewireReport", "generate_settings", "import_missing_solutions", "lift_admin_mode", "read_components",
    "record_shares", "rewire", "validate_target",
]

Progress = Callable[[str, str], None]


def read_components(env: Environment) -> ComponentSet:
    """The Power Platform components an environment holds now, read as rows (canvas apps with their shares)."""
    schema = env.schema([t for t in COMPONENT_TABLES])
    rows = {t: [clean_record(r) for r in env.iter_records(t)] for t in COMPONENT_TABLES if t in schema}
    for app in rows.get("canvasapp", []):
        record_shares(env, app)
    return ComponentSet.from_rows(rows)


def record_shares(env: Environment, app: Record) -> None:
    """Annotate a canvas app row with its shares (from the Power Apps API) as comparable keys."""
    app_id = app.get("uniquecanvasappid")
    if not app_id:
        return
    try:
        app[SHARED_WITH_KEY] = share_keys(env.list_app_permissions(str(app_id)))
    except DataverseError:
        return  # an app the API does not know (yet) simply has no recorded shares


def generate_settings(env: Environment, components: ComponentSet,
                      settings: DeploymentSettings | None = None) -> SettingsProposal:
    """Deployment settings for ``components`` with connection ids matched in ``env``'s connections."""
    who = env.whoami()
    return propose_settings(components, env.list_connections(), settings=settings, owner=str(who.get("UserId", "")))


@dataclass
class RewireReport:
    done: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def remapped_apps(self) -> list[str]:
        return sorted(a["target"] for a in self.done if a["kind"] == "map-canvas-app")

    @property
    def flows_turned_on(self) -> int:
        return sum(1 for a in self.done if a["kind"] == "turn-on-flow")

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "findings": [f.to_dict() for f in self.findings],
                "flows_turned_on": self.flows_turned_on}


def _rows_by(env: Environment, table: str, key: str) -> dict[str, Record]:
    return {str(r.get(key, "")).lower(): r for r in (clean_record(x) for x in env.iter_records(table))}


def rewire(env: Environment, components: ComponentSet, settings: DeploymentSettings | None, *,
           phase: str = "after-data", progress: Progress | None = None) -> RewireReport:
    """Carry the re-wiring plan of ``components`` into ``env``; actions of other phases are skipped."""
    say = progress or (lambda _e, _t: None)
    who = env.whoami()
    target = TargetState.from_components(read_components(env), owner=str(who.get("UserId", "")).lower() or None)
    plan = plan_rewire(components, settings, target)
    report = RewireReport(findings=list(plan.findings) if phase == "after-data" else [])
    refs = _rows_by(env, "connectionreference", "connectionreferencelogicalname")
    values = _rows_by(env, "environmentvariablevalue", "schemaname")
    definitions = _rows_by(env, "environmentvariabledefinition", "schemaname")
    for action in plan.actions:
        if action.phase != phase:
            continue
        say("step", f"{action.kind} {action.target}")
        try:
            done = _carry(env, action, refs, values, definitions)
        except DataverseError as exc:
            report.findings.append(Finding("error", action.kind, f"{action.kind} {action.target} failed: "
                                           f"{exc.message}", action.target))
            continue
        if done is None:
            report.done.append({**action.to_dict(), "status": "done"})
        else:
            report.findings.append(done)
    if phase == "after-data":
        _stop_mailbox_sync(env, report)
    return report


MAILBOX_SYNC_OFF = {"incomingemaildeliverymethod": 0, "outgoingemaildeliverymethod": 0, "actdeliverymethod": 2}
"""Incoming, outgoing and appointments/contacts/tasks synchronisation set to None."""


def _stop_mailbox_sync(env: Environment, report: RewireReport) -> None:
    """A mailbox cannot sync to two environments: set every syncing mailbox of the target to None."""
    try:
        if "mailbox" not in env.schema(["mailbox"]):
            return
        mailboxes = [clean_record(r) for r in env.iter_records("mailbox")]
    except DataverseError as exc:
        report.findings.append(Finding("warning", "mailboxes", f"could not read mailboxes: {exc.message}", "mailbox"))
        return
    for box in mailboxes:
        if all(box.get(k) == v for k, v in MAILBOX_SYNC_OFF.items()):
            continue
        name = str(box.get("name") or box.get("mailboxid"))
        try:
            env.update("mailbox", str(box["mailboxid"]), dict(MAILBOX_SYNC_OFF))
        except DataverseError as exc:
            report.findings.append(Finding("error", "mailboxes", f"could not stop mailbox {name!r} syncing: "
                                           f"{exc.message}", name))
            continue
        report.done.append({"kind": "stop-mailbox-sync", "target": name, "payload": dict(MAILBOX_SYNC_OFF),
                            "reason": "a mailbox cannot sync to two environments", "phase": "after-data",
                            "status": "done"})


def _carry(env: Environment, action: Action, refs: dict[str, Record], values: dict[str, Record],
           definitions: dict[str, Record]) -> Finding | None:
    """Perform one action; a finding when it cannot be done here."""
    payload = dict(action.payload)
    if action.kind in ("turn-off-flow", "turn-on-flow"):
        body: dict[str, Any] = {"statecode": payload["statecode"], "statuscode": payload["statuscode"]}
        if payload.get("ownerid"):
            body["ownerid@odata.bind"] = f"/systemusers({payload['ownerid']})"
        env.update("workflow", action.target, body)
        return None
    if action.kind == "install-custom-connector":
        body = {"name": payload["name"], "displayname": payload.get("displayname") or payload["name"]}
        if payload.get("connectorid"):
            body["connectorid"] = payload["connectorid"]
        env.create("connector", body)
        return None
    if action.kind == "bind-connection-reference":
        row = refs.get(action.target.lower())
        if row is None:
            return Finding("error", "connection-reference-missing",
                           f"the target has no connection reference {action.target!r}", action.target)
        env.update("connectionreference", str(row["connectionreferenceid"]), {"connectionid": payload["connectionid"]})
        return None
    if action.kind == "set-environment-variable":
        existing = values.get(action.target.lower())
        if existing is not None:
            env.update("environmentvariablevalue", str(existing["environmentvariablevalueid"]),
                       {"value": payload["value"]})
            return None
        definition = definitions.get(action.target.lower())
        if definition is None:
            return Finding("error", "environment-variable-missing",
                           f"the target has no definition for {action.target!r}", action.target)
        env.create("environmentvariablevalue", {
            "schemaname": action.target, "value": payload["value"],
            "EnvironmentVariableDefinitionId@odata.bind":
                f"/environmentvariabledefinitions({definition['environmentvariabledefinitionid']})",
        })
        return None
    if action.kind == "map-canvas-app":
        return None  # identity is kept by the restore; the mapping is reported
    if action.kind == "share-canvas-app":
        wanted = principal_of(str(payload.get("principal", "")))
        if wanted is None or not payload.get("app_id"):
            return Finding("warning", "share-canvas-app", f"cannot share {action.target!r} with "
                           f"{payload.get('principal')}: unknown principal or app id", action.target)
        env.share_app(str(payload["app_id"]), wanted[0], wanted[1])
        return None
    return Finding("warning", "unknown-action", f"no way to carry out {action.kind} here", action.target)


SOLUTION_POLL_S = 0.5
SOLUTION_TIMEOUT_S = 3600.0


def import_missing_solutions(env: Environment, snapshot: Snapshot, settings: DeploymentSettings | None,
                             *, progress: Progress | None = None) -> RewireReport:
    """ImportSolutionAsync, with the settings as ComponentParameters, for every solution the snapshot carries
    (``components/solutions/<name>.zip``) that the target does not have yet; poll each job to its end."""
    say = progress or (lambda _e, _t: None)
    report = RewireReport()
    carried = sorted(name.removeprefix("solutions/").removesuffix(".zip") for name in snapshot.manifest.components
                     if name.startswith("solutions/") and name.endswith(".zip") and name.count("/") == 1
                     and not name.endswith("_managed.zip"))
    if not carried:
        return report
    present = {str(r.get("uniquename", "")).lower() for r in env.iter_records("solution", select=["uniquename"])}
    parameters = settings.to_component_parameters() if settings else []
    for name in carried:
        if name.lower() in present:
            continue
        say("step", f"import solution {name}")
        payload = {"CustomizationFile": base64.b64encode(snapshot.component(f"solutions/{name}.zip")).decode(),
                   "OverwriteUnmanagedCustomizations": True, "PublishWorkflows": False,
                   "ImportJobId": str(uuid.uuid4()), "ComponentParameters": parameters}
        try:
            job = env.action("ImportSolutionAsync", payload)
            outcome = _wait_for_job(env, str(job.get("AsyncOperationId", "")))
        except DataverseError as exc:
            report.findings.append(Finding("error", "solution-import", f"importing {name} failed: {exc.message}",
                                           name))
            continue
        if outcome is None:
            report.done.append({"kind": "import-solution", "target": name, "payload": {}, "phase": "before-data",
                                "reason": "the target did not have this solution", "status": "done"})
        else:
            report.findings.append(Finding("error", "solution-import", f"importing {name} failed: {outcome}", name))
    return report


def _wait_for_job(env: Environment, job_id: str) -> str | None:
    """Poll an async operation; ``None`` when it succeeded, else the service's message."""
    deadline = time.monotonic() + SOLUTION_TIMEOUT_S
    while time.monotonic() < deadline:
        job = env.get("asyncoperation", job_id) or {}
        if job.get("statecode") == 3:
            return None if job.get("statuscode") == 30 else str(job.get("message") or job.get("friendlymessage")
                                                                   or f"status {job.get('statuscode')}")
        time.sleep(SOLUTION_POLL_S)
    return f"the import job {job_id} did not finish within {SOLUTION_TIMEOUT_S:.0f} s"


def lift_admin_mode(env: Environment) -> dict[str, Any]:
    """The checklist's last step: administration mode off, background operations on."""
    env.set_admin_state(admin_mode=False, background_operations=True)
    admin_mode, background = env.admin_state()
    return {"kind": "lift-admin-mode", "admin_mode": admin_mode, "background_operations": background}


def validate_target(env: Environment, expected: ComponentSet, *, remapped_apps: Sequence[str] = ()) -> ValidationReport:
    """Read the target back and run the post-copy checklist against what the snapshot recorded.

    ``remapped_apps`` names canvas apps whose changed id re-wiring already re-pointed."""
    target = read_components(env)
    admin_mode, background = env.admin_state()
    facts = facts_from_components(expected, target, admin_mode=admin_mode, background_operations=background,
                                  mailboxes=_mailboxes(env))
    return validate(replace(facts, canvas_app_ids_remapped=frozenset(remapped_apps)))


def _mailboxes(env: Environment) -> Sequence[MailboxFact] | None:
    try:
        if "mailbox" not in env.schema(["mailbox"]):
            return None
        return [MailboxFact(name=str(r.get("name", "")), incoming=r.get("incomingemaildeliverymethod") not in (0, None),
                            outgoing=r.get("outgoingemaildeliverymethod") not in (0, None),
                            act=r.get("actdeliverymethod") not in (2, None))
                for r in env.iter_records("mailbox")]
    except DataverseError:
        return None
