"""The environment's administration state — administration mode and background operations — and the
Power Platform admin API that reads and changes it.

A copy or restore leaves the target in administration mode with background operations disabled
(Microsoft's post-copy checklist, protocol reference §11.4); the emulator starts a refreshed sandbox
(``--demo --records 0``) that way. Served on the emulator's host as the admin API serves it:

* ``GET  /providers/Microsoft.BusinessAppPlatform/environments/<envid>?api-version=...``
* ``POST /providers/Microsoft.BusinessAppPlatform/environments/<envid>/runtimeState?api-version=...`` with
  ``{"runtimeState": "AdminMode"|"Enabled", "backgroundOperationsState": "Enabled"|"Disabled"}``

The request fields follow the parameters of the documented ``Set-AdminPowerAppEnvironmentRuntimeState``
cmdlet (``-RuntimeState AdminMode|Enabled``, ``-BackgroundOperationsState Enabled|Disabled``); where the GET
response carries them (``properties.states.runtime.id`` and ``properties.states.runtime
.backgroundOperationsState``) is modelled on that cmdlet and not verified against the service.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import orjson

from .env import Environment
from .errors import ApiError
from .http import Response, json_response

__all__ = ["ADMIN_PREFIX", "admin_request", "runtime_state", "set_runtime_state"]

ADMIN_PREFIX = "/providers/Microsoft.BusinessAppPlatform/"
_RUNTIME = ("AdminMode", "Enabled")
_BACKGROUND = ("Enabled", "Disabled")


def runtime_state(env: Environment) -> tuple[str, str]:
    """``(runtime state, background operations state)`` of the environment."""
    runtime = env.store.scalar("SELECT v FROM __meta WHERE k='runtime_state'") or "Enabled"
    background = env.store.scalar("SELECT v FROM __meta WHERE k='background_operations'") or "Enabled"
    return str(runtime), str(background)


def set_runtime_state(env: Environment, runtime: str, background: str) -> None:
    if runtime not in _RUNTIME or background not in _BACKGROUND:
        raise ApiError(400, "InvalidRuntimeState", f"runtimeState must be one of {', '.join(_RUNTIME)} and "
                       f"backgroundOperationsState one of {', '.join(_BACKGROUND)}.")
    with env.store.lock:
        env.store.conn.executemany("INSERT OR REPLACE INTO __meta (k, v) VALUES (?, ?)",
                                   [("runtime_state", runtime), ("background_operations", background)])


def _environment(env: Environment) -> dict[str, Any]:
    runtime, background = runtime_state(env)
    return {
        "id": f"{ADMIN_PREFIX}environments/{env.environment_id}",
        "name": env.environment_id,
        "type": "Microsoft.BusinessAppPlatform/environments",
        "properties": {
            "displayName": env.org.name,
            "environmentSku": env.org.environment_type,
            "linkedEnvironmentMetadata": {"resourceId": env.org.organization_id, "instanceUrl": env.org.url},
            "states": {"management": {"id": "NotSpecified"},
                       "runtime": {"id": runtime, "backgroundOperationsState": background}},
        },
    }


def admin_request(env: Environment, method: str, path: str, raw_query: str, body: bytes) -> Response:
    """Serve one admin API call (``path`` starts with :data:`ADMIN_PREFIX`)."""
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
    if not query.get("api-version"):
        raise ApiError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    parts = [p for p in path[len(ADMIN_PREFIX):].split("/") if p]
    if len(parts) < 2 or parts[0] != "environments" or parts[1].lower() != env.environment_id.lower():
        raise ApiError(404, "EnvironmentNotFound", f"The environment '{'/'.join(parts[1:2])}' could not be found.")
    if len(parts) == 2 and method == "GET":
        return json_response(200, _environment(env))
    if len(parts) == 3 and parts[2].lower() == "runtimestate" and method == "POST":
        try:
            data = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            raise ApiError(400, "InvalidRequestContent", "The request content is not valid JSON.") from None
        if not isinstance(data, dict):
            raise ApiError(400, "InvalidRequestContent", "The request body must be an object.")
        current = runtime_state(env)
        set_runtime_state(env, str(data.get("runtimeState", current[0])),
                          str(data.get("backgroundOperationsState", current[1])))
        return json_response(200, _environment(env))
    raise ApiError(405, "MethodNotAllowed", f"The method '{method}' is not allowed on '{path}'.")
