"""Cloud flow definitions: what a flow's ``clientdata`` JSON says it depends on.

A cloud flow is a ``workflow`` row (category 5) whose ``clientdata`` column — and, in a solution, the file
``Workflows/<Name>-<GUID>.json`` — holds ``{"properties": {"connectionReferences": {...}, "definition": {...}}}``.
:func:`parse_clientdata` reads it into a :class:`FlowDefinition`:

* ``connections``: each entry of ``properties.connectionReferences`` — the key used inside the definition,
  the connector (``api.name``), and either the connection reference logical name (solution-aware flows) or a
  direct connection name (legacy flows, which cannot be re-wired through connection references);
* ``connectors``: every ``host.apiId`` used by triggers and actions, walked recursively through scopes,
  conditions (``else``), switches (``cases``/``default``), loops;
* ``child_flows``: ids of flows called with a ``Workflow`` action (``host.workflowReferenceName``);
* ``environment_variables``: schema names read as ``@parameters('Display name (schema_name)')`` or declared
  under ``definition.parameters`` with ``metadata.schemaName``;
* ``undeclared_keys``: connection keys actions use that ``connectionReferences`` does not declare.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from seeder.components.sources import parse_json
from seeder.errors import ComponentError

__all__ = ["CONNECTOR_PREFIX", "FlowConnection", "FlowDefinition", "connector_key", "parse_clientdata"]

CONNECTOR_PREFIX = "/providers/Microsoft.PowerApps/apis/"
_ENV_PARAMETER = re.compile(r"parameters\('(?P<label>[^']*?)\s*\((?P<schema>[A-Za-z0-9_]+)\)'\)")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_BUILTIN_PARAMETERS = frozenset({"$connections", "$authentication"})


def connector_key(connector: str) -> str:
    """Compare connectors by this: ``/providers/Microsoft.PowerApps/apis/shared_x`` and ``shared_x`` → ``shared_x``."""
    return connector.rstrip("/").rsplit("/", 1)[-1].lower()


@dataclass(frozen=True)
class FlowConnection:
    """One entry of ``properties.connectionReferences``."""

    key: str
    api_name: str
    logical_name: str | None = None
    connection_name: str | None = None
    runtime_source: str | None = None

    @property
    def connector_id(self) -> str:
        return self.api_name if self.api_name.startswith("/") else CONNECTOR_PREFIX + self.api_name

    @property
    def is_legacy(self) -> bool:
        """True when the flow binds a connection directly instead of through a connection reference."""
        return not self.logical_name

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "connector": self.connector_id,
            "connection_reference": self.logical_name,
            "connection_name": self.connection_name,
            "runtime_source": self.runtime_source,
        }


@dataclass(frozen=True)
class FlowDefinition:
    """What one flow depends on. Every tuple is sorted and free of duplicates."""

    connections: tuple[FlowConnection, ...] = ()
    connectors: tuple[str, ...] = ()
    child_flows: tuple[str, ...] = ()
    environment_variables: tuple[str, ...] = ()
    undeclared_keys: tuple[str, ...] = ()
    action_count: int = 0
    trigger_types: tuple[str, ...] = ()

    @property
    def connection_references(self) -> tuple[str, ...]:
        return tuple(sorted({c.logical_name for c in self.connections if c.logical_name}))

    @property
    def legacy_connections(self) -> tuple[FlowConnection, ...]:
        return tuple(c for c in self.connections if c.is_legacy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "connections": [c.to_dict() for c in self.connections],
            "connectors": list(self.connectors),
            "child_flows": list(self.child_flows),
            "environment_variables": list(self.environment_variables),
            "undeclared_keys": list(self.undeclared_keys),
            "action_count": self.action_count,
            "trigger_types": list(self.trigger_types),
        }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _connection(key: str, entry: Any) -> FlowConnection:
    if not isinstance(entry, Mapping):
        return FlowConnection(key=key, api_name=key)
    api = entry.get("api")
    api_name = None
    if isinstance(api, Mapping):
        api_name = _text(api.get("name")) or _text(api.get("id"))
    elif isinstance(api, str):
        api_name = api
    api_name = api_name or _text(entry.get("apiId")) or _text(entry.get("id")) or key
    connection = entry.get("connection")
    logical = name = None
    if isinstance(connection, Mapping):
        logical = _text(connection.get("connectionReferenceLogicalName"))
        name = _text(connection.get("name")) or _text(connection.get("id"))
    logical = logical or _text(entry.get("connectionReferenceLogicalName"))
    name = name or _text(entry.get("connectionName"))
    impersonation = entry.get("impersonation")
    source = _text(entry.get("runtimeSource"))
    if isinstance(impersonation, Mapping) and _text(impersonation.get("source")):
        source = f"{source or 'embedded'}/{impersonation['source']}"
    if name and "/" in name:
        name = name.rsplit("/", 1)[-1]
    return FlowConnection(key=key, api_name=api_name, logical_name=logical, connection_name=name,
                          runtime_source=source)


def _children(action: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Nested action maps of a scope, condition, switch or loop."""
    nested = action.get("actions")
    if isinstance(nested, Mapping):
        yield nested
    branch = action.get("else")
    if isinstance(branch, Mapping) and isinstance(branch.get("actions"), Mapping):
        yield branch["actions"]
    cases = action.get("cases")
    if isinstance(cases, Mapping):
        for case in cases.values():
            if isinstance(case, Mapping) and isinstance(case.get("actions"), Mapping):
                yield case["actions"]
    default = action.get("default")
    if isinstance(default, Mapping) and isinstance(default.get("actions"), Mapping):
        yield default["actions"]


def _walk_actions(actions: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    stack: list[Mapping[str, Any]] = [actions]
    while stack:
        current = stack.pop()
        for action in current.values():
            if isinstance(action, Mapping):
                yield action
                stack.extend(_children(action))


def _host_connection_key(host: Mapping[str, Any]) -> str | None:
    for field in ("connectionName", "connectionReferenceName"):
        value = _text(host.get(field))
        if value:
            return value
    conn = host.get("connection")
    if isinstance(conn, str) and conn:
        return conn
    if isinstance(conn, Mapping):
        return _text(conn.get("referenceName")) or _text(conn.get("name"))
    return None


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _child_flow_id(action: Mapping[str, Any]) -> str | None:
    inputs = action.get("inputs")
    if not isinstance(inputs, Mapping):
        return None
    host = inputs.get("host")
    candidates: list[Any] = []
    if isinstance(host, Mapping):
        candidates += [host.get("workflowReferenceName"), host.get("workflowId")]
        workflow = host.get("workflow")
        if isinstance(workflow, Mapping):
            candidates.append(workflow.get("id"))
    candidates.append(inputs.get("workflowReferenceName"))
    for candidate in candidates:
        if isinstance(candidate, str) and (match := _GUID.search(candidate)):
            return match.group(0).lower()
    return None


def parse_clientdata(clientdata: str | bytes | Mapping[str, Any], *, what: str = "flow") -> FlowDefinition:
    """Read a flow's ``clientdata`` (JSON text, bytes, or already-parsed) into a :class:`FlowDefinition`.

    Raises :class:`ComponentError` when the text is not JSON or not a flow definition.
    """
    data = parse_json(clientdata, what=what) if isinstance(clientdata, (str, bytes)) else clientdata
    if not isinstance(data, Mapping):
        raise ComponentError(f"{what}: clientdata is not a JSON object")
    props = data.get("properties", data)
    if not isinstance(props, Mapping):
        raise ComponentError(f"{what}: clientdata has no properties object")
    refs = props.get("connectionReferences")
    definition = props.get("definition")
    refs = {} if refs is None else refs
    definition = {} if definition is None else definition
    if not isinstance(refs, Mapping) or not isinstance(definition, Mapping):
        raise ComponentError(f"{what}: connectionReferences and definition must be JSON objects")
    connections = tuple(sorted((_connection(str(k), v) for k, v in refs.items()), key=lambda c: c.key))

    connectors: set[str] = {c.connector_id for c in connections}
    used_keys: set[str] = set()
    children: set[str] = set()
    triggers = definition.get("triggers") or {}
    actions = definition.get("actions") or {}
    trigger_types: set[str] = set()
    count = 0
    nodes: list[Mapping[str, Any]] = []
    if isinstance(triggers, Mapping):
        for trigger in triggers.values():
            if isinstance(trigger, Mapping):
                nodes.append(trigger)
                trigger_types.add(str(trigger.get("type", "")))
    if isinstance(actions, Mapping):
        for action in _walk_actions(actions):
            count += 1
            nodes.append(action)
    for node in nodes:
        inputs = node.get("inputs")
        host = inputs.get("host") if isinstance(inputs, Mapping) else None
        if isinstance(host, Mapping):
            api_id = _text(host.get("apiId"))
            if api_id:
                connectors.add(api_id)
            key = _host_connection_key(host)
            if key:
                used_keys.add(key)
        child = _child_flow_id(node)
        if child:
            children.add(child)

    env: set[str] = set()
    params = definition.get("parameters")
    if isinstance(params, Mapping):
        for pname, param in params.items():
            if pname in _BUILTIN_PARAMETERS or not isinstance(param, Mapping):
                continue
            meta = param.get("metadata")
            schema = _text(meta.get("schemaName")) if isinstance(meta, Mapping) else None
            match = _ENV_PARAMETER.fullmatch(f"parameters('{pname}')")
            if schema:
                env.add(schema)
            elif match:
                env.add(match.group("schema"))
    for text in _strings(definition):
        if "parameters(" in text:
            env.update(m.group("schema") for m in _ENV_PARAMETER.finditer(text))

    declared = {c.key for c in connections}
    by_lower: dict[str, str] = {}
    for c in sorted(connectors):
        by_lower.setdefault(c.lower(), c)
    return FlowDefinition(
        connections=connections,
        connectors=tuple(sorted(by_lower.values(), key=str.lower)),
        child_flows=tuple(sorted(children)),
        environment_variables=tuple(sorted(env)),
        undeclared_keys=tuple(sorted(used_keys - declared)),
        action_count=count,
        trigger_types=tuple(sorted(t for t in trigger_types if t)),
    )
