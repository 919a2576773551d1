"""The environment's Power Apps connections, which live outside Dataverse tables, and the API that lists them.

Connections are served on the emulator's host the way the Power Apps API serves them:

* ``GET  /providers/Microsoft.PowerApps/connections?api-version=2016-11-01&$filter=environment eq '<envid>'``
* ``GET|PUT|DELETE /providers/Microsoft.PowerApps/apis/<apiName>/connections/<connectionId>?api-version=...``

Shape of a connection (source: the public Power Apps REST API as called by the Microsoft.PowerApps.PowerShell
module ``Get-PowerAppConnection`` and the admin module ``Get-AdminPowerAppConnection``, which read
``name``, ``id``, ``properties.apiId``, ``properties.displayName``, ``properties.statuses[].status``,
``properties.createdBy`` and ``properties.environment.name`` from it)::

    {"name": "<connection id>",
     "id": "/providers/Microsoft.PowerApps/apis/<apiName>/connections/<connection id>",
     "type": "Microsoft.PowerApps/apis/connections",
     "properties": {"apiId": "/providers/Microsoft.PowerApps/apis/<apiName>", "displayName": "...",
                    "statuses": [{"status": "Connected"}], "createdBy": {"id", "displayName", "userPrincipalName"},
                    "createdTime": "...", "lastModifiedTime": "...", "environment": {"name": "<envid>"}}}

The connection id is what ``connectionreference.connectionid`` holds. Rows are kept in the store's SQLite
file (table ``__connections``) so they survive a restart with ``--state``.
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
    "CONNECTIONS_PREFIX",
    "connection_id_for",
    "connection_statuses",
    "connections_request",
    "delete_connection",
    "list_connections",
    "put_connection",
    "seed_demo_connections",
]

CONNECTIONS_PREFIX = "/providers/Microsoft.PowerApps/"
_API_ID = "/providers/Microsoft.PowerApps/apis/"
_FILTER = re.compile(r"^\s*environment\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)
_SAFE = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")


def _ensure(env: Environment) -> None:
    with env.store.lock:
        env.store.conn.execute("CREATE TABLE IF NOT EXISTS __connections (name TEXT PRIMARY KEY, body TEXT NOT NULL)")


def list_connections(env: Environment) -> list[dict[str, Any]]:
    """Every connection of the environment, sorted by name."""
    _ensure(env)
    with env.store.lock:
        rows = env.store.conn.execute("SELECT body FROM __connections ORDER BY name").fetchall()
    return [orjson.loads(r[0]) for r in rows]


def connection_statuses(env: Environment) -> dict[str, str]:
    """Connection id (lower case) → its first status (``Connected``, ``Error``, ...)."""
    out: dict[str, str] = {}
    for conn in list_connections(env):
        statuses = conn.get("properties", {}).get("statuses") or [{}]
        out[str(conn["name"]).lower()] = str(statuses[0].get("status", ""))
    return out


def connection_id_for(api_name: str, seed: int, index: int = 0) -> str:
    """A connection id shaped like the service's (``shared-commondataser-<guid>``), deterministic by seed."""
    prefix = api_name.replace("_", "-")[:20].rstrip("-")
    return f"{prefix}-{uuid.uuid5(ORG_NAMESPACE, f'connection:{seed}:{api_name}:{index}')}"


def _connection(env: Environment, api_name: str, name: str, display_name: str,
                status: str = "Connected") -> dict[str, Any]:
    user = env.org.user_id or ""
    now = now_text()
    return {"name": name, "id": f"{_API_ID}{api_name}/connections/{name}",
            "type": "Microsoft.PowerApps/apis/connections",
            "properties": {"apiId": f"{_API_ID}{api_name}", "displayName": display_name,
                           "statuses": [{"status": status}],
                           "createdBy": {"id": user, "displayName": "Emulated Administrator",
                                         "userPrincipalName": "admin@emulated.example", "type": "User"},
                           "createdTime": now, "lastModifiedTime": now,
                           "environment": {"id": f"/providers/Microsoft.PowerApps/environments/{env.environment_id}",
                                           "name": env.environment_id}}}


def put_connection(env: Environment, connection: dict[str, Any]) -> None:
    _ensure(env)
    with env.store.lock:
        env.store.conn.execute("INSERT OR REPLACE INTO __connections (name, body) VALUES (?, ?)",
                               (connection["name"], orjson.dumps(connection).decode()))


def delete_connection(env: Environment, name: str) -> bool:
    _ensure(env)
    with env.store.lock:
        cur = env.store.conn.execute("DELETE FROM __connections WHERE name = ? COLLATE NOCASE", (name,))
    return cur.rowcount > 0


def seed_demo_connections(env: Environment, *, index: int = 0) -> int:
    """One Connected connection per connector the environment's connection references use (ids by seed;
    ``index`` tells environments of the same seed apart)."""
    st = env.store.tables.get("connectionreference")
    if st is None:
        return 0
    rows = env.store.query(f'SELECT DISTINCT connectorid FROM "{st.sql_name}" '  # noqa: S608 - validated table name
                           "WHERE connectorid IS NOT NULL ORDER BY connectorid")
    count = 0
    for row in rows:
        api_name = str(row["connectorid"]).rstrip("/").rsplit("/", 1)[-1]
        if not _SAFE.match(api_name):
            continue
        display = api_name.removeprefix("shared_").replace("-", " ").replace("_", " ")
        put_connection(env, _connection(env, api_name, connection_id_for(api_name, env.config.seed, index),
                                        f"{display} (emulated)"))
        count += 1
    return count


def _not_found(what: str) -> ApiError:
    # The Power Apps API answers {"error": {"code": "ConnectionNotFound", "message": ...}} with 404.
    return ApiError(404, "ConnectionNotFound", f"Could not find connection '{what}'.")


def connections_request(env: Environment, method: str, path: str, raw_query: str, body: bytes) -> Response:
    """Serve one Power Apps connections API call (``path`` starts with :data:`CONNECTIONS_PREFIX`)."""
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
    if not query.get("api-version"):
        raise ApiError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    parts = [p for p in path[len(CONNECTIONS_PREFIX):].split("/") if p]
    if parts == ["connections"] and method == "GET":
        wanted = None
        if query.get("$filter"):
            m = _FILTER.match(query["$filter"])
            if m is None:
                raise ApiError(400, "InvalidFilter", f"The filter '{query['$filter']}' is not supported; "
                               "use environment eq '<environment name>'.")
            wanted = m.group(1)
        value = [] if wanted is not None and wanted.lower() != env.environment_id.lower() else list_connections(env)
        return json_response(200, {"value": value})
    if len(parts) == 4 and parts[0] == "apis" and parts[2] == "connections" and \
            _SAFE.match(parts[1]) and _SAFE.match(parts[3]):
        api_name, name = parts[1], parts[3]
        existing = {c["name"].lower(): c for c in list_connections(env)}.get(name.lower())
        if method == "GET":
            if existing is None:
                raise _not_found(name)
            return json_response(200, existing)
        if method == "DELETE":
            if not delete_connection(env, name):
                raise _not_found(name)
            return Response(200)
        if method == "PUT":
            return _put(env, api_name, name, body, existing)
    if parts and parts[0] in ("connections", "apis"):
        raise ApiError(405, "MethodNotAllowed", f"The method '{method}' is not allowed on '{path}'.")
    raise ApiError(404, "ResourceNotFound", f"The resource '{path}' was not found.")


def _put(env: Environment, api_name: str, name: str, body: bytes, existing: dict[str, Any] | None) -> Response:
    try:
        data = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise ApiError(400, "InvalidRequestContent", "The request content is not valid JSON.") from None
    props = data.get("properties", {}) if isinstance(data, dict) else {}
    if not isinstance(props, dict):
        raise ApiError(400, "InvalidRequestContent", "'properties' must be an object.")
    env_name = str(props.get("environment", {}).get("name", env.environment_id)) \
        if isinstance(props.get("environment"), dict) else env.environment_id
    if env_name.lower() != env.environment_id.lower():
        raise ApiError(400, "InvalidEnvironment", f"The environment '{env_name}' is not this environment.")
    statuses = props.get("statuses")
    status = str(statuses[0].get("status", "Connected")) if isinstance(statuses, list) and statuses and \
        isinstance(statuses[0], dict) else "Connected"
    connection = _connection(env, api_name, name, str(props.get("displayName") or name), status)
    if existing is not None:
        connection["properties"]["createdTime"] = existing["properties"].get("createdTime")
    put_connection(env, connection)
    return json_response(200 if existing is not None else 201, connection)
