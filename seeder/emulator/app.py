"""The emulator's WSGI application: authentication, limits, faults, the route table and error wrapping.

Routes are rows of ``ROUTES``: (methods, segment patterns, handler). A pattern is a literal segment name
(``"WhoAmI"``; ``"EntityDefinitions()"`` for a keyed segment), ``SET`` / ``SET()`` for an entity set
without/with a key, ``NAME`` / ``NAME()`` for any segment, ``ACTION`` for a ``Microsoft.Dynamics.CRM.*``
bound action, and a trailing ``*`` for any further segments. Later features add rows with
:func:`add_route`. Every failure becomes a Dataverse error body; nothing leaks a traceback.
"""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from seeder.model import Schema

from .admin_api import ADMIN_PREFIX, admin_request
from .app_permissions import app_permissions_request, is_app_permissions_path
from .config import EmulatorConfig
from .connections import CONNECTIONS_PREFIX, connections_request
from .env import Environment
from .errors import ApiError, segment_not_found
from .http import Request, Response, Segment, error_response, json_response, split_path
from .limits import FaultInjector, Limiter, injected_error, write_ceiling_records_per_s

__all__ = ["API_ROOT", "ROUTES", "ConnectionReset", "EmulatorApp", "add_route", "make_app"]

API_ROOT = "/api/data/v9.2/"
Handler = Callable[[Environment, Request, list[Segment]], Response]
DOP_HINT = 8  # x-ms-dop-hint the emulator recommends (the service typically answers 4-50)


class ConnectionReset(Exception):
    """Raised to make the server drop the connection without a response (fault injection)."""


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: tuple[str, ...]
    handler: Handler


ROUTES: list[Route] = []


def add_route(methods: str, pattern: str, handler: Handler, *, first: bool = False) -> None:
    """Register ``handler`` for ``methods`` ("GET,POST") on ``pattern`` ("SET()/NAME/$ref")."""
    route = Route(frozenset(m.strip() for m in methods.split(",")), tuple(pattern.split("/")), handler)
    if first:
        ROUTES.insert(0, route)
    else:
        ROUTES.append(route)


def _matches(env: Environment, pattern: tuple[str, ...], segs: list[Segment]) -> bool:
    if pattern and pattern[-1] == "*":
        if len(segs) < len(pattern) - 1:
            return False
        pattern = pattern[:-1]
        segs = segs[: len(pattern)]
    if len(pattern) != len(segs):
        return False
    for pat, seg in zip(pattern, segs, strict=True):
        keyed = pat.endswith("()")
        name = pat[:-2] if keyed else pat
        if keyed != (seg.key is not None):
            return False
        if name == "SET":
            if env.schema.by_entity_set(seg.name) is None:
                return False
        elif name == "ACTION":
            if not seg.name.startswith("Microsoft.Dynamics.CRM."):
                return False
        elif name != "NAME" and name != seg.name:
            return False
    return True


def dispatch(env: Environment, req: Request) -> Response:
    """Route one API request (also used for each part of a ``$batch``)."""
    segs = split_path(req.path)
    allowed = False
    for route in ROUTES:
        if _matches(env, route.pattern, segs):
            if req.method in route.methods:
                return route.handler(env, req, segs)
            allowed = True
    if allowed:
        raise ApiError(405, "0x80060888", f"The HTTP method '{req.method}' is not allowed for this resource.")
    for seg in segs:
        if seg.name and env.schema.by_entity_set(seg.name) is None:
            raise segment_not_found(seg.name)
    raise segment_not_found(segs[-1].name if segs else "")


class EmulatorApp:
    """The WSGI callable. ``env`` is the emulated environment; limits, faults and counters live here."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        config = env.config
        self.limiter = Limiter(config.time_scale, enabled=config.limits)
        self.faults = FaultInjector(config.fault_spec, config.seed)
        self.internal_errors: list[str] = []

    def stats(self) -> dict[str, Any]:
        config = self.env.config
        return {
            **self.env.counters.to_dict(),
            "write_ceiling_records_per_s": write_ceiling_records_per_s(config.cost_ms),
            "cost_ms": config.cost_ms.to_dict(),
            "faults": config.fault_spec.to_dict(),
            "time_scale": config.time_scale,
            "limits": {"enabled": self.limiter.enabled, "window_s": self.limiter.window,
                       "requests": self.limiter.max_requests, "execution_ms": self.limiter.max_execution * 1000,
                       "concurrent": 52},
            "internal_errors": list(self.internal_errors),
            "tables": {t.name: self.env.store.count(t.name) for t in self.env.schema.tables},
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            response = self.handle(environ)
        except ConnectionReset:
            raise
        except Exception:  # a malformed request must still get a Dataverse-shaped answer
            self.internal_errors.append(traceback.format_exc(limit=6)[-2000:])
            response = error_response(ApiError(400, "0x80060888", "The request could not be read."))
        reason = _REASONS.get(response.status, "Unknown")
        headers = [("OData-Version", "4.0"), *response.headers, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {reason}", headers)
        return [response.body]

    def handle(self, environ: dict[str, Any]) -> Response:
        path = environ.get("PATH_INFO", "") or "/"
        if path == "/_emulator/stats":
            return Response(200, [("Content-Type", "application/json")], orjson.dumps(self.stats()))
        request_id = str(uuid.uuid4())
        diag = [("x-ms-service-request-id", request_id), ("REQ_ID", request_id)]
        if path.startswith((CONNECTIONS_PREFIX, ADMIN_PREFIX)):
            return _with(self.power_apps(environ, path), diag)
        try:
            req = self._request(environ, path)
        except ApiError as err:
            return _with(error_response(err), diag)
        fault = self.faults.draw()
        if fault is not None:
            self.env.counters.add(faults_injected=1, requests=1)
            if fault == "reset":
                raise ConnectionReset()
            if fault in ("429", "503"):
                return _with(error_response(injected_error(fault)), diag)
            time.sleep(self.env.config.fault_spec.slow_seconds)
        try:
            self.limiter.enter(req.user)
        except ApiError as err:
            self.env.counters.add(throttled=1, requests=1)
            return _with(error_response(err), diag)
        started = time.monotonic()
        try:
            response = self.run(req)
        finally:
            self.limiter.leave(req.user, time.monotonic() - started)
        left_requests, left_ms = self.limiter.remaining(req.user)
        return _with(response, [*diag, ("x-ms-dop-hint", str(DOP_HINT)),
                                ("x-ms-ratelimit-burst-remaining-xrm-requests", str(left_requests)),
                                ("x-ms-ratelimit-time-remaining-xrm-requests", f"{left_ms:.2f}")])

    def power_apps(self, environ: dict[str, Any], path: str) -> Response:
        """The Power Apps connections, app permissions and admin APIs on the same host (bearer token
        required, no Dataverse limits)."""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return error_response(ApiError(401, "AuthenticationFailed", "Authentication failed: no bearer token."))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        self.env.counters.add(requests=1)
        try:
            serve = admin_request if path.startswith(ADMIN_PREFIX) else \
                app_permissions_request if is_app_permissions_path(path) else connections_request
            return serve(self.env, environ.get("REQUEST_METHOD", "GET").upper(), path,
                         environ.get("QUERY_STRING", ""), body)
        except ApiError as err:
            return error_response(err)

    def run(self, req: Request) -> Response:
        """Dispatch with the cost model applied (waited and counted); errors become error bodies."""
        try:
            response = dispatch(self.env, req)
        except ApiError as err:
            response = error_response(err)
        except Exception:  # never a traceback to the client; kept (bounded) for /_emulator/stats
            self.internal_errors.append(traceback.format_exc(limit=6)[-2000:])
            del self.internal_errors[:-20]
            response = error_response(ApiError(500, "0x80040216", "An unexpected error occurred."))
        cost = self.env.config.cost_ms
        cost_ms = cost.request + cost.write * response.records_written + cost.read * response.records_read
        if cost_ms > 0:
            time.sleep(cost_ms / 1000.0)
        self.env.counters.add(requests=1, records_written=response.records_written,
                              records_read=response.records_read)
        return response

    def _request(self, environ: dict[str, Any], path: str) -> Request:
        if not path.startswith(API_ROOT.rstrip("/")):
            raise segment_not_found(path.strip("/").split("/")[0])
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise ApiError(401, "0x80072560", "The user is not authenticated: no bearer token was sent "
                           "(MissingCrmAuthenticationToken).", {"WWW-Authenticate": 'Bearer authorization_uri='
                                                                "\"https://login.microsoftonline.com/common\""})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT')}"
        base = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{API_ROOT}"
        raw_query = environ.get("QUERY_STRING", "")
        return Request(method=environ.get("REQUEST_METHOD", "GET").upper(), path=path[len(API_ROOT):],
                       query=Request.parse_query(raw_query), headers=headers, body=body, base=base,
                       user=auth[7:].strip(), raw_query=raw_query)


def _with(response: Response, headers: list[tuple[str, str]]) -> Response:
    response.headers.extend(headers)
    return response


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            412: "Precondition Failed", 413: "Payload Too Large", 429: "Too Many Requests",
            500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}


def make_app(config: EmulatorConfig | None = None, *, schema: Schema | None = None) -> EmulatorApp:
    """The WSGI app for ``config`` (``schema`` adds tables, e.g. in tests). Usable via ``httpx.WSGITransport``."""
    from . import routes  # noqa: F401  (registers the route table)

    return EmulatorApp(Environment.load(config or EmulatorConfig(), schema))


def json_ok(data: Any) -> Response:
    return json_response(200, data)
