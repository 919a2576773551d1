"""Who a canvas app is shared with, and the Power Apps API that lists and changes it.

Canvas app sharing lives outside Dataverse tables, like connections. The emulator serves it on its own host
the way the Power Apps API (``api.powerapps.com``, api-version ``2016-11-01``) serves it:

* ``GET  /providers/Microsoft.PowerApps/apps/<appName>/permissions?api-version=...[&$filter=environment eq '<env>']``
  → ``{"value": [permission, ...]}``
* ``POST /providers/Microsoft.PowerApps/apps/<appName>/modifyPermissions?api-version=...`` with
  ``{"put": [{"properties": {"roleName": "CanView"|"CanEdit", "principal": {"id", "type", "tenantId"?,
  "email"?}, "NotifyShareTargetOption": "Notify"|"DoNotNotify", "capabilities": []}}],
  "delete": [{"id": "<permission name or full permission id>"}]}``
* the same two under ``/providers/Microsoft.PowerApps/scopes/admin/environments/<env>/apps/<appName>/...``
  (the admin scope).

``<appName>`` is the app's per-environment App ID: the ``canvasapp`` row's ``uniquecanvasappid`` (protocol
reference §10.4), which changes when an app lands in another environment. A permission::

    {"name": "<principal id, or tenant-<tenant id> for Everyone>",
     "id": "/providers/Microsoft.PowerApps/apps/<appName>/permissions/<name>",
     "type": "Microsoft.PowerApps/apps/permissions",
     "properties": {"roleName": "Owner"|"CanEdit"|"CanView",
                    "principal": {"id", "type": "User"|"Group"|"Tenant", "tenantId", "displayName"?, "email"?},
                    "scope": "/providers/Microsoft.PowerApps/environments/<env>/apps/<appName>",
                    "notifyShareTargetOption": "...", "createdOn": "..."}}

Sources: routes, put/delete bodies and the Tenant principal (``id`` ``"null"`` plus ``tenantId``) follow the
public Microsoft.PowerApps.PowerShell module (``Get-PowerAppRoleAssignment``, ``Set-PowerAppRoleAssignment``,
``Remove-PowerAppRoleAssignment``, whose example RoleId is ``.../apps/<app>/permissions/tenant-<tenant id>``)
and the CLI for Microsoft 365 (``pa app permission list|ensure|remove``: the permission shape above, the
principal id as the delete id, ``tenant-<tenant id>`` for Everyone, Everyone only with CanView). The
``ApplicationNotFound`` 404 code is the one reported for the admin permissions call in
microsoft/powerapps-tools#845. UNVERIFIED modelling choices: the modifyPermissions answer (200 with
``{"put": [...], "delete": [...]}``), the 400 codes, that a Tenant principal's ``id`` reads back as the
tenant id, that deleting an unknown id is ignored, and that the owner cannot be removed or re-roled here.

Demo states (protocol reference §11.4: "apps shared with Everyone are no longer shared with Everyone after
restore"): a production-like demo shares its canvas app with one security group and with Everyone (both
CanView) besides the owner (:func:`seed_demo_app_permissions`); any other app — a freshly copied sandbox's,
or one a solution import created — starts with only its owner. Every emulated environment is in the same
tenant (:data:`TENANT_ID`), as copy and restore require. Rows live in the store's SQLite file (table
``__app_permissions``) so they survive a restart with ``--state``.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from typing import Any

import orjson

from .env import ORG_NAMESPACE, Environment, now_text
from .errors import ApiError
from .http import Response, json_response

__all__ = [
    "APPS_PREFIX",
    "DEMO_GROUP_ID",
    "TENANT_ID",
    "app_permissions_request",
    "is_app_permissions_path",
    "list_app_permissions",
    "put_app_permission",
    "seed_demo_app_permissions",
]

APPS_PREFIX = "/providers/Microsoft.PowerApps/apps/"
_ADMIN_PREFIX = "/providers/Microsoft.PowerApps/scopes/admin/environments/"
TENANT_ID = str(uuid.uuid5(ORG_NAMESPACE, "tenant"))
DEMO_GROUP_ID = str(uuid.uuid5(ORG_NAMESPACE, "group:app-users"))
_SHARE_ROLES = ("CanView", "CanEdit")
_TYPES = ("User", "Group", "Tenant")
_ROLE_ORDER = {"Owner": 0, "CanEdit": 1, "CanView": 2}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_FILTER = re.compile(r"^\s*environment\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


def is_app_permissions_path(path: str) -> bool:
    """Whether ``path`` is one of the app permissions routes (plain or admin scope)."""
    return path.startswith(APPS_PREFIX) or (path.startswith(_ADMIN_PREFIX) and "/apps/" in path)


def _ensure(env: Environment) -> None:
    with env.store.lock:
        env.store.conn.execute("CREATE TABLE IF NOT EXISTS __app_permissions (app TEXT NOT NULL, name TEXT NOT NULL, "
                               "body TEXT NOT NULL, PRIMARY KEY (app, name))")


def _app_row(env: Environment, app_name: str) -> dict[str, Any] | None:
    st = env.store.tables.get("canvasapp")
    if st is None or not _GUID.match(app_name) or st.column("uniquecanvasappid") is None:
        return None
    rows = env.store.query(f'SELECT * FROM "{st.sql_name}" WHERE uniquecanvasappid = ?',  # noqa: S608 - fixed name
                           (app_name.lower(),))
    return rows[0] if rows else None


def _not_found(app_name: str) -> ApiError:
    return ApiError(404, "ApplicationNotFound", f"The application '{app_name}' could not be found.")


def _owner(env: Environment, row: dict[str, Any]) -> dict[str, Any]:
    owner = str(row.get("aadcreatedbyid") or uuid.uuid5(ORG_NAMESPACE, f"aaduser:{env.org.user_id}"))
    return {"id": owner, "type": "User", "tenantId": TENANT_ID, "displayName": "Emulated Administrator",
            "email": "admin@emulated.example"}


def _permission(env: Environment, app: str, role: str, principal: dict[str, Any], notify: str) -> dict[str, Any]:
    name = f"tenant-{principal['tenantId']}" if principal["type"] == "Tenant" else str(principal["id"])
    return {"name": name, "id": f"{APPS_PREFIX}{app}/permissions/{name}",
            "type": "Microsoft.PowerApps/apps/permissions",
            "properties": {"roleName": role, "principal": principal,
                           "scope": f"/providers/Microsoft.PowerApps/environments/{env.environment_id}/apps/{app}",
                           "notifyShareTargetOption": notify, "createdOn": now_text()}}


def _store(env: Environment, app: str, permission: dict[str, Any]) -> None:
    _ensure(env)
    with env.store.lock:
        env.store.conn.execute("INSERT OR REPLACE INTO __app_permissions (app, name, body) VALUES (?, ?, ?)",
                               (app, permission["name"].lower(), orjson.dumps(permission).decode()))


def _stored(env: Environment, app: str) -> list[dict[str, Any]]:
    _ensure(env)
    with env.store.lock:
        rows = env.store.conn.execute("SELECT body FROM __app_permissions WHERE app = ?", (app,)).fetchall()
    return [orjson.loads(r[0]) for r in rows]


def list_app_permissions(env: Environment, app_name: str) -> list[dict[str, Any]]:
    """The app's permissions, owner first then by role and name (404 ``ApiError`` for an unknown app).
    An app nobody has shared yet has exactly its owner's permission."""
    row = _app_row(env, app_name)
    if row is None:
        raise _not_found(app_name)
    app = str(row["uniquecanvasappid"]).lower()
    found = _stored(env, app)
    if not found:
        owner = _permission(env, app, "Owner", _owner(env, row), "NotSpecified")
        _store(env, app, owner)
        found = [owner]
    return sorted(found, key=lambda p: (_ROLE_ORDER.get(p["properties"]["roleName"], 9), p["name"]))


def put_app_permission(env: Environment, app_name: str, role: str, principal: dict[str, Any],
                       notify: str = "DoNotNotify") -> dict[str, Any]:
    """Share the app with ``principal`` (``{"id", "type", ...}``) as ``role``; returns the permission."""
    current = {p["name"].lower(): p for p in list_app_permissions(env, app_name)}
    app = str(app_name).lower()
    clean = _principal(principal)
    permission = _permission(env, app, _role(role, clean), clean, notify)
    existing = current.get(permission["name"].lower())
    if existing is not None and existing["properties"]["roleName"] == "Owner":
        raise ApiError(400, "CannotChangeOwnerRole",
                       f"The principal '{clean['id']}' owns the app; change the owner instead.")
    if existing is not None:
        permission["properties"]["createdOn"] = existing["properties"].get("createdOn")
    _store(env, app, permission)
    return permission


def seed_demo_app_permissions(env: Environment) -> int:
    """Share every canvas app as a production organisation does: a security group and Everyone (CanView).
    Returns the number of permissions added."""
    st = env.store.tables.get("canvasapp")
    if st is None:
        return 0
    rows = env.store.query(f'SELECT uniquecanvasappid FROM "{st.sql_name}" '  # noqa: S608 - fixed table name
                           "WHERE uniquecanvasappid IS NOT NULL ORDER BY uniquecanvasappid")
    count = 0
    for row in rows:
        app = str(row["uniquecanvasappid"])
        put_app_permission(env, app, "CanView", {"id": DEMO_GROUP_ID, "type": "Group",
                                                 "displayName": "Emulated App Users"})
        put_app_permission(env, app, "CanView", {"id": "null", "type": "Tenant", "tenantId": TENANT_ID})
        count += 2
    return count


def _principal(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ApiError(400, "InvalidPrincipal", "Each permission needs a 'principal' object.")
    kind = str(raw.get("type", ""))
    if kind not in _TYPES:
        raise ApiError(400, "InvalidPrincipal", f"The principal type '{kind}' is not one of {', '.join(_TYPES)}.")
    if kind == "Tenant":
        given = [str(v) for v in (raw.get("tenantId"), raw.get("id")) if v and str(v).lower() not in ("null", "")]
        tenant = given[0] if given else TENANT_ID
        if any(g.lower() != TENANT_ID for g in given):
            raise ApiError(400, "InvalidTenant", f"The tenant '{tenant}' is not this environment's tenant.")
        return {"id": TENANT_ID, "type": "Tenant", "tenantId": TENANT_ID}
    pid = str(raw.get("id") or "")
    if not _GUID.match(pid):
        raise ApiError(400, "InvalidPrincipal", f"The principal id '{pid}' is not an object id.")
    out: dict[str, Any] = {"id": pid.lower(), "type": kind, "tenantId": TENANT_ID}
    for key in ("displayName", "email"):
        if raw.get(key) and str(raw[key]).lower() != "null":
            out[key] = str(raw[key])
    return out


def _role(role: Any, principal: dict[str, Any]) -> str:
    if role not in _SHARE_ROLES:
        raise ApiError(400, "InvalidRoleName", f"The role '{role}' is not one of {', '.join(_SHARE_ROLES)}.")
    if principal["type"] == "Tenant" and role != "CanView":
        raise ApiError(400, "InvalidRoleName", "Sharing with the entire tenant is only supported with CanView.")
    return str(role)


def _modify(env: Environment, app_name: str, body: bytes) -> Response:
    try:
        data = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise ApiError(400, "InvalidRequestContent", "The request content is not valid JSON.") from None
    puts, deletes = (data.get("put") or [], data.get("delete") or []) if isinstance(data, dict) else (None, None)
    if not isinstance(puts, list) or not isinstance(deletes, list):
        raise ApiError(400, "InvalidRequestContent", "'put' and 'delete' must be arrays.")
    current = {p["name"].lower(): p for p in list_app_permissions(env, app_name)}
    by_id = {p["id"].lower(): p for p in current.values()}
    shares: list[tuple[str, dict[str, Any], str]] = []
    for item in puts:  # validate everything before changing anything
        props = item.get("properties") if isinstance(item, dict) else None
        if not isinstance(props, dict):
            raise ApiError(400, "InvalidRequestContent", "Each 'put' item needs a 'properties' object.")
        principal = _principal(props.get("principal"))
        owned = current.get(str(principal["id"]).lower())
        if owned is not None and owned["properties"]["roleName"] == "Owner":
            raise ApiError(400, "CannotChangeOwnerRole",
                           f"The principal '{principal['id']}' owns the app; change the owner instead.")
        notify = str(props.get("NotifyShareTargetOption") or props.get("notifyShareTargetOption") or "Notify")
        shares.append((_role(props.get("roleName"), principal), principal, notify))
    removed: list[str] = []
    for item in deletes:
        wanted = str(item.get("id", "") if isinstance(item, dict) else "").lower()
        target = current.get(wanted) or by_id.get(wanted)
        if target is None:
            continue
        if target["properties"]["roleName"] == "Owner":
            raise ApiError(400, "CannotRemoveOwner", "The owner's permission cannot be removed; change the owner.")
        removed.append(target["name"].lower())
    app = app_name.lower()
    _ensure(env)
    with env.store.lock:
        env.store.conn.executemany("DELETE FROM __app_permissions WHERE app = ? AND name = ?",
                                   [(app, name) for name in removed])
    added = [put_app_permission(env, app, role, principal, notify) for role, principal, notify in shares]
    return json_response(200, {"put": added, "delete": [{"id": current[n]["id"]} for n in removed]})


def app_permissions_request(env: Environment, method: str, path: str, raw_query: str, body: bytes) -> Response:
    """Serve one app permissions call (``path`` passed :func:`is_app_permissions_path`)."""
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
    if not query.get("api-version"):
        raise ApiError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    if path.startswith(_ADMIN_PREFIX):
        env_name, _, rest = path[len(_ADMIN_PREFIX):].partition("/")
        if env_name.lower() != env.environment_id.lower():
            raise ApiError(404, "EnvironmentNotFound", f"The environment '{env_name}' could not be found.")
        path = "/providers/Microsoft.PowerApps/" + rest
    parts = [p for p in path[len(APPS_PREFIX):].split("/") if p] if path.startswith(APPS_PREFIX) else []
    if len(parts) != 2 or parts[1].lower() not in ("permissions", "modifypermissions"):
        raise ApiError(404, "ResourceNotFound", f"The resource '{path}' was not found.")
    app_name, verb = parts[0], parts[1].lower()
    if query.get("$filter"):
        m = _FILTER.match(query["$filter"])
        if m is None:
            raise ApiError(400, "InvalidFilter", f"The filter '{query['$filter']}' is not supported; "
                           "use environment eq '<environment name>'.")
        if m.group(1).lower() != env.environment_id.lower():
            raise _not_found(app_name)
    if verb == "permissions" and method == "GET":
        return json_response(200, {"value": list_app_permissions(env, app_name)})
    if verb == "modifypermissions" and method == "POST":
        return _modify(env, app_name, body)
    raise ApiError(405, "MethodNotAllowed", f"The method '{method}' is not allowed on '{path}'.")
