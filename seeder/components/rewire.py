"""Re-wiring after a restore, planned as data: which calls to make, in which order, and why.

:func:`plan_rewire` compares the components a snapshot recorded (a :class:`ComponentSet`) and the deployment
settings with what the target holds (:class:`TargetState`) and returns ordered :class:`Action` records:

1. ``turn-off-flow``       (phase ``before-data``) flows that are on in the target stay off while data loads,
                           so seeding never sends an email;
2. ``install-custom-connector``  custom connectors the target lacks, before anything that uses them;
3. ``bind-connection-reference`` ``connectionid`` from the settings;
4. ``set-environment-variable``  values from the settings (or the snapshot), plus canvas app ids re-pointed;
5. ``map-canvas-app``      canvas app identity: the portable ``canvasappid`` kept, the per-environment App ID
                           recorded so stored ids can be updated;
6. ``share-canvas-app``    shares the snapshot recorded and the target lacks;
7. ``turn-on-flow``        flows that were on in the source, child flows before their parents, under the
                           intended owner.

What cannot be done (no connection for a reference, a flow whose child cannot be turned on, a child-flow
cycle, ...) becomes a :class:`~seeder.components.items.Finding`, never an exception. Nothing here calls a
service: the restore verb carries the actions to ``seeder.dataverse``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seeder.components.inventory import ComponentSet
from seeder.components.items import CanvasApp, Finding, Flow
from seeder.components.settings import DeploymentSettings

__all__ = ["Action", "RewirePlan", "TargetState", "plan_rewire", "rewire_actions"]

KINDS = (
    "turn-off-flow", "install-custom-connector", "bind-connection-reference", "set-environment-variable",
    "map-canvas-app", "share-canvas-app", "turn-on-flow",
)


@dataclass(frozen=True)
class TargetState:
    """What the target environment holds now (keys lower-case where they are names or ids).

    ``flows``: workflow id → "on"/"off"/"suspended"; ``connection_references``: logical name → connection id or
    ``None``; ``environment_variables``: schema name → current value or ``None``; ``custom_connectors``: names;
    ``canvas_apps``: name → the target's :class:`CanvasApp` (with ``unique_app_id`` and ``shared_with``);
    ``owner``: the systemuser id flows should run under (``owner_map`` maps source owners to target users).
    """

    flows: Mapping[str, str] = field(default_factory=dict)
    connection_references: Mapping[str, str | None] = field(default_factory=dict)
    environment_variables: Mapping[str, str | None] = field(default_factory=dict)
    custom_connectors: frozenset[str] = frozenset()
    canvas_apps: Mapping[str, CanvasApp] = field(default_factory=dict)
    owner: str | None = None
    owner_map: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_components(cls, target: ComponentSet, *, owner: str | None = None,
                        owner_map: Mapping[str, str] | None = None) -> TargetState:
        """The state of a target read as a :class:`ComponentSet` (``ComponentSet.from_rows`` of its rows)."""
        return cls(
            flows={f.id: f.state for f in target.flows},
            connection_references={c.logical_name.lower(): c.connection_id for c in target.connection_references},
            environment_variables={e.schema_name.lower(): e.current_value for e in target.environment_variables},
            custom_connectors=frozenset(c.name.lower() for c in target.custom_connectors),
            canvas_apps={a.name.lower(): a for a in target.canvas_apps},
            owner=owner, owner_map=dict(owner_map or {}),
        )


@dataclass(frozen=True)
class Action:
    """One step of re-wiring. ``target`` names the component; ``payload`` is what to send or set."""

    kind: str
    target: str
    payload: Mapping[str, Any]
    reason: str
    phase: str = "after-data"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "payload": dict(self.payload), "reason": self.reason,
                "phase": self.phase}


@dataclass(frozen=True)
class RewirePlan:
    actions: tuple[Action, ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"actions": [a.to_dict() for a in self.actions], "findings": [f.to_dict() for f in self.findings]}


def _child_first(flows: list[Flow], findings: list[Finding]) -> list[Flow]:
    """Flows ordered so every child flow comes before the flows that call it (ties by name, then id)."""
    by_id = {f.id: f for f in flows}
    pending = {f.id: {c for c in f.child_flows if c in by_id and c != f.id} for f in flows}
    order: list[Flow] = []
    while pending:
        ready = sorted((by_id[i] for i, deps in pending.items() if not deps), key=lambda f: (f.name.lower(), f.id))
        if not ready:
            stuck = sorted((by_id[i] for i in pending), key=lambda f: (f.name.lower(), f.id))
            findings.append(Finding("warning", "child-flow-cycle",
                                    "these flows call each other in a cycle; they are turned on in name order: "
                                    + ", ".join(f.name for f in stuck), stuck[0].name))
            ready = stuck
        for flow in ready:
            order.append(flow)
            pending.pop(flow.id, None)
        done = {f.id for f in ready}
        for deps in pending.values():
            deps -= done
    return order


def plan_rewire(components: ComponentSet, settings: DeploymentSettings | None,
                target: TargetState) -> RewirePlan:
    """Plan re-wiring ``target`` to match ``components``; see the module docstring for the order."""
    settings = settings or DeploymentSettings()
    actions: list[Action] = []
    findings: list[Finding] = []

    for flow in components.flows:
        if target.flows.get(flow.id) == "on":
            actions.append(Action("turn-off-flow", flow.id, {"statecode": 0, "statuscode": 1},
                                  f"keep {flow.name!r} off while data loads", phase="before-data"))

    for conn in components.custom_connectors:
        if conn.name.lower() not in target.custom_connectors:
            actions.append(Action("install-custom-connector", conn.name,
                                  {"name": conn.name, "displayname": conn.display_name, "connectorid": conn.id},
                                  "custom connectors must exist before the flows that use them"))

    unbound: set[str] = set()
    for ref in components.connection_references:
        key = ref.logical_name.lower()
        wanted = settings.connection_id(ref.logical_name) or ref.connection_id
        current = target.connection_references.get(key)
        if key not in target.connection_references:
            findings.append(Finding("error", "connection-reference-missing",
                                    f"the target has no connection reference {ref.logical_name!r}; import the "
                                    "solution first", ref.logical_name))
            unbound.add(key)
        elif wanted and wanted != current:
            actions.append(Action("bind-connection-reference", ref.logical_name,
                                  {"connectionid": wanted, "connectorid": ref.connector},
                                  f"bind {ref.logical_name!r} to a connection that exists in the target"))
        elif not wanted and not current:
            findings.append(Finding("error", "connection-reference-unbound",
                                    f"no connection for {ref.logical_name!r}: add its ConnectionId to the "
                                    "deployment settings (seeder settings generate)", ref.logical_name))
            unbound.add(key)

    app_ids: dict[str, str] = {}
    for app in components.canvas_apps:
        there = target.canvas_apps.get(app.name.lower())
        if there is None:
            if app.packaged:
                findings.append(Finding("warning", "canvas-app-missing",
                                        f"canvas app {app.name!r} is not in the target", app.name))
            continue
        if app.unique_app_id and there.unique_app_id and app.unique_app_id != there.unique_app_id:
            app_ids[app.unique_app_id] = there.unique_app_id
        actions.append(Action("map-canvas-app", app.name,
                              {"canvasappid": app.app_id, "source_app_id": app.unique_app_id,
                               "target_app_id": there.unique_app_id},
                              "keep the app's portable id; record the target's App ID for stored references"))
        for principal in sorted(set(app.shared_with) - set(there.shared_with)):
            actions.append(Action("share-canvas-app", app.name,
                                  {"app_id": there.unique_app_id, "principal": principal, "role": "CanView"},
                                  "the source app was shared with this principal"))

    for var in components.environment_variables:
        key = var.schema_name.lower()
        wanted = settings.value(var.schema_name)
        if wanted is None or wanted == "":
            wanted = var.current_value
        if wanted and wanted.lower() in app_ids:
            wanted = app_ids[wanted.lower()]
        current = target.environment_variables.get(key)
        if wanted not in (None, "") and wanted != current:
            actions.append(Action("set-environment-variable", var.schema_name,
                                  {"schemaname": var.schema_name, "value": wanted, "definitionid": var.id},
                                  "value from the deployment settings or the snapshot"))
        elif wanted in (None, "") and current in (None, "") and not var.default_value and var.type != 100000004:
            findings.append(Finding("warning", "environment-variable-without-value",
                                    f"{var.schema_name!r} has no value in the settings, the snapshot or as a "
                                    "default", var.schema_name))

    blocked: set[str] = set()
    for flow in _child_first([f for f in components.flows if f.state == "on"], findings):
        missing = sorted(r for r in flow.connection_references if r.lower() in unbound)
        legacy = flow.definition.legacy_connections if flow.definition else ()
        off_children = sorted(c for c in flow.child_flows if c in blocked)
        reason = ""
        if missing:
            reason = "its connection references have no connection: " + ", ".join(missing)
        elif legacy:
            reason = "it binds connections directly (no connection reference)"
        elif off_children:
            reason = "child flows it calls cannot be turned on: " + ", ".join(off_children)
        if reason:
            blocked.add(flow.id)
            findings.append(Finding("error", "flow-stays-off", f"flow {flow.name!r} stays off: {reason}", flow.name))
            continue
        payload: dict[str, Any] = {"statecode": 1, "statuscode": 2}
        owner = target.owner_map.get(flow.owner or "") or target.owner
        if owner:
            payload["ownerid"] = owner
        actions.append(Action("turn-on-flow", flow.id, payload,
                              f"{flow.name!r} was on in the source; children are turned on before parents"))

    for flow in components.flows:
        if flow.state == "on" and flow.id not in target.flows and target.flows:
            findings.append(Finding("warning", "flow-missing", f"flow {flow.name!r} is not in the target", flow.name))

    ordered = sorted(enumerate(actions), key=lambda p: (p[1].phase != "before-data", KINDS.index(p[1].kind), p[0]))
    return RewirePlan(tuple(a for _, a in ordered), tuple(sorted(findings, key=lambda f: f.sort_key)))


def rewire_actions(components: ComponentSet, settings: DeploymentSettings | None,
                   target: TargetState) -> list[Action]:
    """The actions of :func:`plan_rewire` (use ``plan_rewire`` to also get the findings)."""
    return list(plan_rewire(components, settings, target).actions)
