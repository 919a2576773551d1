"""The Power Platform components seeder knows, as frozen records with ``to_dict()``.

One record type per component kind — :class:`Flow`, :class:`ConnectionReference`,
:class:`EnvironmentVariable`, :class:`CanvasApp`, :class:`CustomConnector`, :class:`SolutionInfo` — plus
:class:`Finding`, the one way a problem is reported (severity ``error``, ``warning`` or ``info``).
The readers (``solution.py`` for files, ``inventory.py`` for Web API rows) build these; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seeder.components.flows import FlowDefinition, connector_key

__all__ = [
    "ENV_VAR_TYPES",
    "FLOW_STATES",
    "CanvasApp",
    "ConnectionReference",
    "CustomConnector",
    "EnvironmentVariable",
    "Finding",
    "Flow",
    "SolutionInfo",
    "normalise_id",
]

ENV_VAR_TYPES = {
    100000000: "String",
    100000001: "Number",
    100000002: "Boolean",
    100000003: "JSON",
    100000004: "Data source",
    100000005: "Secret",
}
FLOW_STATES = {0: "off", 1: "on", 2: "suspended"}
SEVERITIES = ("error", "warning", "info")


def normalise_id(value: str | None) -> str | None:
    """A GUID as lower case without braces; ``None`` stays ``None``."""
    if not value:
        return None
    return value.strip().strip("{}").lower() or None


@dataclass(frozen=True)
class Finding:
    """Something worth telling the user. ``code`` is stable for scripts, ``message`` is for people."""

    severity: str
    code: str
    message: str
    component: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "message": self.message, "component": self.component}

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        return (SEVERITIES.index(self.severity), self.code, self.component, self.message)


@dataclass(frozen=True)
class SolutionInfo:
    unique_name: str
    version: str = ""
    publisher: str = ""
    publisher_prefix: str = ""
    managed: bool = False
    friendly_name: str = ""
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "unique_name": self.unique_name,
            "friendly_name": self.friendly_name,
            "version": self.version,
            "publisher": self.publisher,
            "publisher_prefix": self.publisher_prefix,
            "managed": self.managed,
            "id": self.id,
        }


@dataclass(frozen=True)
class Flow:
    """A cloud flow. ``id`` is the stable ``workflowid``; ``definition`` is ``None`` when no clientdata was read."""

    id: str
    name: str
    state: str = "unknown"
    owner: str | None = None
    definition: FlowDefinition | None = None

    @property
    def connection_references(self) -> tuple[str, ...]:
        return self.definition.connection_references if self.definition else ()

    @property
    def connectors(self) -> tuple[str, ...]:
        return self.definition.connectors if self.definition else ()

    @property
    def child_flows(self) -> tuple[str, ...]:
        return self.definition.child_flows if self.definition else ()

    @property
    def environment_variables(self) -> tuple[str, ...]:
        return self.definition.environment_variables if self.definition else ()

    def to_dict(self) -> dict[str, Any]:
        legacy = self.definition.legacy_connections if self.definition else ()
        return {
            "name": self.name,
            "id": self.id,
            "state": self.state,
            "owner": self.owner,
            "connection_references": list(self.connection_references),
            "connectors": list(self.connectors),
            "child_flows": list(self.child_flows),
            "environment_variables": list(self.environment_variables),
            "legacy_connections": [c.key for c in legacy],
        }


@dataclass(frozen=True)
class ConnectionReference:
    logical_name: str
    connector: str
    display_name: str = ""
    connection_id: str | None = None
    custom_connector_id: str | None = None
    id: str | None = None
    owner: str | None = None

    @property
    def connector_key(self) -> str:
        return connector_key(self.connector)

    def to_dict(self) -> dict[str, Any]:
        return {
            "logical_name": self.logical_name,
            "display_name": self.display_name,
            "connector": self.connector,
            "connection_id": self.connection_id,
            "custom_connector_id": self.custom_connector_id,
            "id": self.id,
        }


@dataclass(frozen=True)
class EnvironmentVariable:
    """A definition with its default value and current value (the value row, when there is one)."""

    schema_name: str
    type: int = 100000000
    display_name: str = ""
    default_value: str | None = None
    current_value: str | None = None
    is_required: bool = False
    id: str | None = None
    value_id: str | None = None
    connection_reference_id: str | None = None

    @property
    def type_name(self) -> str:
        return ENV_VAR_TYPES.get(self.type, str(self.type))

    @property
    def effective_value(self) -> str | None:
        """What flows and apps see: the current value if set, else the default."""
        return self.current_value if self.current_value not in (None, "") else self.default_value or None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_name": self.schema_name,
            "display_name": self.display_name,
            "type": self.type_name,
            "default_value": self.default_value,
            "current_value": self.current_value,
            "is_required": self.is_required,
            "id": self.id,
        }


@dataclass(frozen=True)
class CanvasApp:
    """A canvas app. ``app_id`` is the portable ``canvasappid``; ``unique_app_id`` the per-environment App ID."""

    name: str
    display_name: str = ""
    app_id: str | None = None
    unique_app_id: str | None = None
    connectors: tuple[str, ...] = ()
    shared_with: tuple[str, ...] = ()
    packaged: bool = True
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "app_id": self.app_id,
            "unique_app_id": self.unique_app_id,
            "connectors": list(self.connectors),
            "shared_with": list(self.shared_with),
            "packaged": self.packaged,
        }


@dataclass(frozen=True)
class CustomConnector:
    name: str
    display_name: str = ""
    id: str | None = None
    connector_type: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "display_name": self.display_name, "id": self.id,
                "connector_type": self.connector_type}
