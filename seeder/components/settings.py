"""Deployment settings: the ``pac solution create-settings`` JSON, and proposing its connection ids.

:class:`DeploymentSettings` reads and writes ``{"EnvironmentVariables": [{"SchemaName", "Value"}],
"ConnectionReferences": [{"LogicalName", "ConnectionId", "ConnectorId"}]}``. Reading tolerates a BOM, the
PowerShell-formatted files of the ALM Accelerator, and extra keys (``ConnectionOwner``, ``#{token}#`` values,
other top-level sections): they are kept, in order, when the file is written back.

:func:`propose_settings` fills each reference's ``ConnectionId`` by matching its connector to the connections
that exist in the target environment (the Power Apps connections API shape: ``{"name", "id", "properties":
{"apiId", "displayName", "statuses": [{"status"}], "createdBy": {...}}}``), preferring connections whose status
is ``Connected`` and then the intended owner's, choosing deterministically. What it cannot match is a finding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from seeder.components.flows import connector_key
from seeder.components.inventory import ComponentSet
from seeder.components.items import Finding
from seeder.components.sources import parse_json
from seeder.errors import ComponentError

__all__ = [
    "ConnectionMatch",
    "ConnectionReferenceSetting",
    "DeploymentSettings",
    "EnvironmentVariableSetting",
    "SettingsProposal",
    "is_token",
    "propose_settings",
]

_TOKEN = re.compile(r"#\{[^}]*\}#")


def is_token(value: str | None) -> bool:
    """True for pipeline placeholders such as ``#{connectionreference.x}#`` (not a real value yet)."""
    return bool(value) and bool(_TOKEN.search(value or ""))


def _usable(value: str | None) -> bool:
    return bool(value) and not is_token(value)


@dataclass(frozen=True)
class ConnectionReferenceSetting:
    logical_name: str
    connection_id: str = ""
    connector_id: str = ""
    extra: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"LogicalName": self.logical_name, "ConnectionId": self.connection_id,
                                "ConnectorId": self.connector_id}
        data.update(self.extra)
        return data


@dataclass(frozen=True)
class EnvironmentVariableSetting:
    schema_name: str
    value: str = ""
    extra: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"SchemaName": self.schema_name, "Value": self.value}
        data.update(self.extra)
        return data


def _extra(entry: Mapping[str, Any], known: Iterable[str]) -> tuple[tuple[str, Any], ...]:
    skip = set(known)
    return tuple((k, v) for k, v in entry.items() if k not in skip)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class DeploymentSettings:
    """A deployment settings file. ``extra`` holds top-level keys other than the two lists, in file order."""

    environment_variables: tuple[EnvironmentVariableSetting, ...] = ()
    connection_references: tuple[ConnectionReferenceSetting, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def loads(cls, text: str | bytes, *, what: str = "deployment settings") -> DeploymentSettings:
        data = parse_json(text, what=what)
        if not isinstance(data, dict):
            raise ComponentError(f"{what} must be a JSON object with EnvironmentVariables and ConnectionReferences")
        envs, refs = data.get("EnvironmentVariables", []), data.get("ConnectionReferences", [])
        envs, refs = [] if envs is None else envs, [] if refs is None else refs
        if not isinstance(envs, list) or not isinstance(refs, list):
            raise ComponentError(f"{what}: EnvironmentVariables and ConnectionReferences must be lists")
        env_out, ref_out = [], []
        for i, e in enumerate(envs):
            if not isinstance(e, dict) or not isinstance(e.get("SchemaName"), str):
                raise ComponentError(f"{what}: EnvironmentVariables[{i}] has no SchemaName")
            env_out.append(EnvironmentVariableSetting(e["SchemaName"], _as_text(e.get("Value")),
                                                      _extra(e, ("SchemaName", "Value"))))
        for i, r in enumerate(refs):
            if not isinstance(r, dict) or not isinstance(r.get("LogicalName"), str):
                raise ComponentError(f"{what}: ConnectionReferences[{i}] has no LogicalName")
            ref_out.append(ConnectionReferenceSetting(
                r["LogicalName"], _as_text(r.get("ConnectionId")), _as_text(r.get("ConnectorId")),
                _extra(r, ("LogicalName", "ConnectionId", "ConnectorId"))))
        return cls(tuple(env_out), tuple(ref_out), _extra(data, ("EnvironmentVariables", "ConnectionReferences")))

    @classmethod
    def load(cls, path: Path) -> DeploymentSettings:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ComponentError(f"cannot read deployment settings {path}: {exc.strerror}") from None
        return cls.loads(data, what=str(path))

    @classmethod
    def from_components(cls, components: ComponentSet) -> DeploymentSettings:
        """What ``pac solution create-settings`` would write: every reference and variable, values blank
        unless the components carry a connection id or a current value."""
        return cls(
            environment_variables=tuple(EnvironmentVariableSetting(e.schema_name, e.current_value or "")
                                        for e in components.environment_variables),
            connection_references=tuple(ConnectionReferenceSetting(c.logical_name, c.connection_id or "",
                                                                   c.connector)
                                        for c in components.connection_references),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "EnvironmentVariables": [e.to_dict() for e in self.environment_variables],
            "ConnectionReferences": [c.to_dict() for c in self.connection_references],
        }
        data.update(self.extra)
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def dump(self, path: Path) -> None:
        """Write UTF-8 JSON (no BOM), replacing the file atomically."""
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(self.dumps(), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise ComponentError(f"cannot write deployment settings {path}: {exc.strerror}") from None

    def connection_id(self, logical_name: str) -> str | None:
        """The usable connection id for a reference (tokens and blanks are ``None``)."""
        key = logical_name.lower()
        for ref in self.connection_references:
            if ref.logical_name.lower() == key and _usable(ref.connection_id):
                return ref.connection_id
        return None

    def value(self, schema_name: str) -> str | None:
        """The usable value for an environment variable (tokens are ``None``; an empty string is a value)."""
        key = schema_name.lower()
        for env in self.environment_variables:
            if env.schema_name.lower() == key and not is_token(env.value):
                return env.value
        return None

    def unresolved(self) -> list[str]:
        """Names whose ConnectionId or Value is blank or still a ``#{token}#``."""
        names = [c.logical_name for c in self.connection_references if not _usable(c.connection_id)]
        names += [e.schema_name for e in self.environment_variables if is_token(e.value)]
        return names

    def to_component_parameters(self) -> list[dict[str, Any]]:
        """``ComponentParameters`` for ImportSolution(Async) / StageAndUpgrade; unresolved entries are left out."""
        params: list[dict[str, Any]] = []
        for c in self.connection_references:
            if _usable(c.connection_id):
                params.append({"@odata.type": "Microsoft.Dynamics.CRM.connectionreference",
                               "connectionreferencelogicalname": c.logical_name,
                               "connectionid": c.connection_id, "connectorid": c.connector_id})
        for e in self.environment_variables:
            if not is_token(e.value) and e.value != "":
                params.append({"@odata.type": "Microsoft.Dynamics.CRM.environmentvariablevalue",
                               "schemaname": e.schema_name, "value": e.value})
        return params


@dataclass(frozen=True)
class ConnectionMatch:
    logical_name: str
    connector: str
    connection_id: str
    how: str  # "settings" (kept from a given file) or "matched" (found in the target)
    candidates: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"logical_name": self.logical_name, "connector": self.connector,
                "connection_id": self.connection_id, "how": self.how, "candidates": self.candidates}


@dataclass(frozen=True)
class SettingsProposal:
    settings: DeploymentSettings
    matched: tuple[ConnectionMatch, ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings.to_dict(), "matched": [m.to_dict() for m in self.matched],
                "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class _Connection:
    name: str
    connector: str
    connected: bool
    owner: str
    status: str


def _connection(raw: Mapping[str, Any]) -> _Connection | None:
    props = raw.get("properties") if isinstance(raw.get("properties"), Mapping) else raw
    assert isinstance(props, Mapping)
    name = raw.get("name") or raw.get("connectionId") or raw.get("ConnectionName")
    api = props.get("apiId") or raw.get("apiId") or raw.get("connectorId") or raw.get("ConnectorName")
    if not isinstance(name, str) or not isinstance(api, str) or not name or not api:
        return None
    statuses = props.get("statuses") or raw.get("statuses") or []
    labels = [str(s.get("status", "")) for s in statuses if isinstance(s, Mapping)] if isinstance(
        statuses, list) else []
    if not labels and isinstance(raw.get("status"), str):
        labels = [raw["status"]]
    created = props.get("createdBy") if isinstance(props.get("createdBy"), Mapping) else {}
    assert isinstance(created, Mapping)
    owner = " ".join(str(created.get(k, "")) for k in ("id", "userPrincipalName", "email")).lower()
    connected = bool(labels) and all(label.lower() == "connected" for label in labels)
    return _Connection(name=name.rsplit("/", 1)[-1], connector=connector_key(api), connected=connected,
                       owner=owner, status=",".join(labels) or "unknown")


def propose_settings(components: ComponentSet, connections: Sequence[Mapping[str, Any]], *,
                     settings: DeploymentSettings | None = None, owner: str | None = None) -> SettingsProposal:
    """Propose deployment settings for ``components`` in a target that has ``connections``.

    A usable ConnectionId already in ``settings`` is kept; otherwise the first Connected connection for the
    reference's connector is chosen (the ``owner``'s first when given, then by connection name).
    Environment-variable values come from ``settings``, else from the components' current values.
    """
    base = DeploymentSettings.from_components(components)
    given = settings or DeploymentSettings()
    by_connector: dict[str, list[_Connection]] = {}
    for raw in connections:
        conn = _connection(raw) if isinstance(raw, Mapping) else None
        if conn is not None:
            by_connector.setdefault(conn.connector, []).append(conn)
    owner_key = (owner or "").lower()
    matched: list[ConnectionMatch] = []
    findings: list[Finding] = []
    refs = []
    given_refs = {r.logical_name.lower(): r for r in given.connection_references}
    for ref in base.connection_references:
        kept = given_refs.get(ref.logical_name.lower())
        ref = replace(ref, extra=kept.extra) if kept else ref
        key = connector_key(ref.connector_id)
        existing = given.connection_id(ref.logical_name)
        candidates = by_connector.get(key, [])
        if existing:
            matched.append(ConnectionMatch(ref.logical_name, ref.connector_id, existing, "settings"))
            refs.append(replace(ref, connection_id=existing))
            continue
        usable = sorted((c for c in candidates if c.connected),
                        key=lambda c: (not (owner_key and owner_key in c.owner), c.name))
        if usable:
            choice = usable[0]
            matched.append(ConnectionMatch(ref.logical_name, ref.connector_id, choice.name, "matched", len(usable)))
            refs.append(replace(ref, connection_id=choice.name))
            continue
        refs.append(replace(ref, connection_id=""))
        if candidates:
            states = ", ".join(sorted(f"{c.name} ({c.status})" for c in candidates))
            message = (f"connection reference {ref.logical_name!r}: the target's connections for {key} are not "
                       f"Connected ({states}); repair one or create a new connection")
        else:
            message = (f"connection reference {ref.logical_name!r}: the target has no connection for {key}; "
                       "create one, then generate the settings again")
        findings.append(Finding("warning", "no-connection", message, ref.logical_name))
    envs = []
    for env in base.environment_variables:
        kept_value = given.value(env.schema_name)
        source = next((e for e in given.environment_variables if e.schema_name.lower() == env.schema_name.lower()),
                      None)
        envs.append(replace(env, value=kept_value if kept_value is not None else env.value,
                            extra=source.extra if source else ()))
    proposal = DeploymentSettings(tuple(envs), tuple(refs), given.extra)
    return SettingsProposal(proposal, tuple(matched), tuple(sorted(findings, key=lambda f: f.sort_key)))
