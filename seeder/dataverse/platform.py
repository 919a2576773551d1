"""Power Platform APIs next to Dataverse: Power Apps connections, canvas app sharing and administration mode.

These live outside the Dataverse Web API, on ``api.powerapps.com`` (connections, app permissions) and
``api.bap.microsoft.com`` (environment runtime state), both with a token for ``https://service.powerapps.com/``
(protocol reference §1.4, §11.1). The emulator serves the same routes on its own host, so against a
loopback URL requests go there with the Dataverse token. :class:`PlatformApi` holds one environment's calls;
:class:`~seeder.dataverse.environment.Environment` exposes them as its own methods. Requests go through the
environment's :class:`~seeder.dataverse.transport.Transport`, so failures leave as ``DataverseError`` /
``AuthError`` only.

App permission routes and bodies follow the Microsoft.PowerApps.PowerShell module (``Get-PowerAppRoleAssignment``,
``Set-PowerAppRoleAssignment``, ``Remove-PowerAppRoleAssignment``; api-version ``2016-11-01`` with
``$filter=environment eq '<env>'``). The app is named by its per-environment App ID (``uniquecanvasappid``).
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Mapping
from typing import Any

from seeder.dataverse.auth import AuthConfig
from seeder.dataverse.credentials import TokenProvider, token_provider
from seeder.dataverse.transport import Transport
from seeder.errors import UsageError

__all__ = ["APP_ROLES", "BAP_API", "POWERAPPS_API", "POWERAPPS_RESOURCE", "PRINCIPAL_TYPES", "PlatformApi",
           "is_loopback"]

POWERAPPS_API = "https://api.powerapps.com"
POWERAPPS_RESOURCE = "https://service.powerapps.com/"  # token audience of the Power Apps and admin APIs
POWERAPPS_API_VERSION = "2016-11-01"
BAP_API = "https://api.bap.microsoft.com"
BAP_API_VERSION = "2021-04-01"
APP_ROLES = ("CanView", "CanEdit")
PRINCIPAL_TYPES = ("User", "Group", "Tenant")
_APPS = "/providers/Microsoft.PowerApps/apps/"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class PlatformApi:
    """The Power Platform API calls of one environment (``environment_id`` names it on those APIs)."""

    def __init__(self, transport: Transport, auth: AuthConfig, environment_id: Callable[[], str]) -> None:
        self.transport = transport
        self._auth = auth
        self._read_environment_id = environment_id
        self._env_id: str | None = None
        self._tokens: TokenProvider | None = None
        self._lock = threading.Lock()

    def _environment_id(self) -> str:
        """The environment's name on the Power Platform APIs (read once)."""
        if self._env_id is None:
            self._env_id = self._read_environment_id()
        return self._env_id

    def _base(self, host: str) -> tuple[str, dict[str, str]]:
        """Base URL and headers for ``host``; the emulator serves the same routes on its own host."""
        if is_loopback(self.transport.host):
            return self.transport.base, {}
        with self._lock:
            if self._tokens is None:
                self._tokens = token_provider(self._auth, POWERAPPS_RESOURCE)
            tokens = self._tokens
        return host, {"Authorization": f"Bearer {tokens.token()}"}

    # -- connections --------------------------------------------------------------------------------
    def list_connections(self) -> list[dict[str, Any]]:
        env_id = self._environment_id()
        base, headers = self._base(POWERAPPS_API)
        body = self.transport.json(
            "GET", f"{base}/providers/Microsoft.PowerApps/connections", headers=headers,
            params={"api-version": POWERAPPS_API_VERSION, "$filter": f"environment eq '{env_id}'"},
            what="list connections",
        )
        return sorted(body.get("value", []), key=lambda c: str(c.get("name", "")))

    # -- canvas app sharing -------------------------------------------------------------------------
    def _app_call(self, method: str, app_id: str, verb: str, what: str, json: Any = None) -> Any:
        app = _app_id(app_id)
        base, headers = self._base(POWERAPPS_API)
        return self.transport.json(
            method, f"{base}{_APPS}{app}/{verb}", headers=headers, json=json,
            params={"api-version": POWERAPPS_API_VERSION, "$filter": f"environment eq '{self._environment_id()}'"},
            what=f"{what} {app}",
        )

    def list_app_permissions(self, app_id: str) -> list[dict[str, Any]]:
        body = self._app_call("GET", app_id, "permissions", "list permissions of app")
        value = body.get("value", []) if isinstance(body, dict) else []
        return sorted((p for p in value if isinstance(p, dict)), key=lambda p: str(p.get("name", "")))

    def share_app(self, app_id: str, principal: Mapping[str, Any], role: str, *, notify: bool = False) -> None:
        self._app_call("POST", app_id, "modifyPermissions", "share app", json={
            "put": [{"properties": {"roleName": _role(role, principal), "capabilities": [],
                                    "NotifyShareTargetOption": "Notify" if notify else "DoNotNotify",
                                    "principal": _principal(principal)}}],
            "delete": []})

    def unshare_app(self, app_id: str, permission_id: str) -> None:
        if not permission_id or not isinstance(permission_id, str):
            raise UsageError("an app permission id is needed to stop sharing",
                             hint="Use the 'name' or 'id' of an entry from list_app_permissions.")
        self._app_call("POST", app_id, "modifyPermissions", "stop sharing app",
                       json={"put": [], "delete": [{"id": permission_id}]})

    # -- administration mode ------------------------------------------------------------------------
    def _environment_url(self) -> tuple[str, dict[str, str]]:
        base, headers = self._base(BAP_API)
        return f"{base}/providers/Microsoft.BusinessAppPlatform/environments/{self._environment_id()}", headers

    def admin_state(self) -> tuple[bool | None, bool | None]:
        url, headers = self._environment_url()
        body = self.transport.json("GET", url, headers=headers, params={"api-version": BAP_API_VERSION},
                                   what="read administration mode")
        runtime = body.get("properties", {}).get("states", {}).get("runtime", {})
        mode, background = runtime.get("id"), runtime.get("backgroundOperationsState")
        return (None if mode is None else str(mode) == "AdminMode",
                None if background is None else str(background) == "Enabled")

    def set_admin_state(self, *, admin_mode: bool, background_operations: bool) -> None:
        url, headers = self._environment_url()
        self.transport.json(
            "POST", f"{url}/runtimeState", headers=headers, params={"api-version": BAP_API_VERSION},
            json={"runtimeState": "AdminMode" if admin_mode else "Enabled",
                  "backgroundOperationsState": "Enabled" if background_operations else "Disabled"},
            what="set administration mode")


def _app_id(app_id: str) -> str:
    text = str(app_id or "").strip()
    if not text or "/" in text or "?" in text or "#" in text:
        raise UsageError(f"not a canvas app id: {app_id!r}",
                         hint="Use the app's per-environment App ID (the canvasapp row's uniquecanvasappid).")
    return text


def _principal(principal: Mapping[str, Any]) -> dict[str, Any]:
    """The principal as Set-PowerAppRoleAssignment sends it (``id``, ``type``, ``tenantId``, ``email``)."""
    kind = str(principal.get("type", ""))
    if kind not in PRINCIPAL_TYPES:
        raise UsageError(f"unknown principal type {kind!r}", hint=f"Use one of {', '.join(PRINCIPAL_TYPES)}.")
    pid = str(principal.get("id") or "")
    if kind == "Tenant":
        tenant = str(principal.get("tenantId") or pid or "")
        if not tenant or tenant == "null":
            raise UsageError("sharing with Everyone needs the tenant id",
                             hint="Pass {'type': 'Tenant', 'tenantId': '<tenant id>'}.")
        return {"id": "null", "type": "Tenant", "tenantId": tenant, "email": ""}
    if not pid or pid == "null":
        raise UsageError(f"a {kind} principal needs its Microsoft Entra object id", hint="Pass {'id': '<object id>'}.")
    out = {"id": pid, "type": kind, "tenantId": str(principal.get("tenantId") or "null")}
    if principal.get("email"):
        out["email"] = str(principal["email"])
    return out


def _role(role: str, principal: Mapping[str, Any]) -> str:
    if role not in APP_ROLES:
        raise UsageError(f"unknown app role {role!r}", hint="Share with CanView or CanEdit; the owner is set apart.")
    if principal.get("type") == "Tenant" and role != "CanView":
        raise UsageError("Everyone can only be given CanView", hint="Share with the tenant as CanView.")
    return role
