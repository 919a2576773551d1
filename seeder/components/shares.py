"""Canvas app shares as comparable keys: ``"<type>:<principal id>:<role>"`` in lower case.

Sharing lives in the Power Apps API, not in Dataverse rows. The exporter records each canvas app's shares
on its row under :data:`~seeder.components.inventory.SHARED_WITH_KEY` as these keys, re-wiring compares
them with the target's, and :func:`principal_of` turns a key back into the principal and role a share
request needs. The owner is not a share (ownership is per environment) and is left out; Everyone is the
``tenant`` principal, whose id is the tenant id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["principal_of", "share_key", "share_keys"]

_TYPES = {"user": "User", "group": "Group", "tenant": "Tenant"}
_ROLES = {"canview": "CanView", "canedit": "CanEdit", "owner": "Owner"}


def share_key(permission: Mapping[str, Any]) -> str | None:
    """The key of one permission from the Power Apps API, or ``None`` for the owner and unreadable entries."""
    props = permission.get("properties")
    if not isinstance(props, Mapping):
        return None
    role = str(props.get("roleName", "")).lower()
    principal = props.get("principal")
    if role not in _ROLES or role == "owner" or not isinstance(principal, Mapping):
        return None
    kind = str(principal.get("type", "")).lower()
    pid = principal.get("tenantId") if kind == "tenant" else principal.get("id")
    if kind not in _TYPES or not pid:
        return None
    return f"{kind}:{str(pid).lower()}:{role}"


def share_keys(permissions: Iterable[Mapping[str, Any]]) -> list[str]:
    """Sorted, distinct keys of every share in ``permissions``."""
    return sorted({k for k in (share_key(p) for p in permissions) if k})


def principal_of(key: str) -> tuple[dict[str, Any], str] | None:
    """``(principal, role)`` for a share request, from a key; ``None`` when the key is not one."""
    kind, _, rest = key.partition(":")
    pid, _, role = rest.rpartition(":")
    if kind not in _TYPES or role not in _ROLES or not pid:
        return None
    principal: dict[str, Any] = {"type": _TYPES[kind]}
    principal["tenantId" if kind == "tenant" else "id"] = pid
    return principal, _ROLES[role]
