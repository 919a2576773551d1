"""Turning HTTP failures into seeder's error tree.

Owns the mapping from a Dataverse error body (``{"error": {"code", "message"}}``) and from httpx transport
exceptions to :class:`~seeder.errors.DataverseError`, :class:`~seeder.errors.Throttled` and
:class:`~seeder.errors.AuthError`, each with a hint saying what to do. Nothing outside this package ever
sees an httpx exception.
"""

from __future__ import annotations

from typing import Any

import httpx

from seeder.errors import AuthError, DataverseError, Throttled

__all__ = [
    "REQUEST_ID_HEADERS",
    "error_body",
    "error_from_response",
    "error_from_transport",
    "parse_retry_after",
    "request_id_of",
]

REQUEST_ID_HEADERS = ("x-ms-service-request-id", "req_id", "x-ms-request-id")

_HINTS_BY_CODE = {
    "0x80040220": "The application user lacks a privilege: give its security role read/write on this table.",
    "0x80040217": "The record does not exist in the target environment.",
    "0x80040237": "A record with the same id or alternate key already exists; use upsert mode.",
    "0x80044331": "A value is longer than the column allows; check the source data or the column's max length.",
    "0x8006088a": "The table or entity set name is wrong (names are case sensitive).",
    "0x80072322": "Service protection: too many requests; seeder backs off automatically.",
    "0x80072321": "Service protection: execution time limit; lower concurrency or batch size.",
    "0x80072326": "Service protection: too many concurrent requests; lower --max-concurrency.",
}

_HINTS_BY_STATUS = {
    400: "The request was rejected as invalid; the message names the column or option at fault.",
    401: "The token was refused: check the tenant, the client id and that the app is registered.",
    403: "Signed in, but the application user has no (or too small a) security role in this environment.",
    404: "Not found: check the environment URL, the table name or the record id.",
    412: "A precondition failed: the record changed, or already exists for create-only writes.",
    413: "The request is too large: lower the batch size.",
    429: "Service protection limits were hit; seeder waits Retry-After and retries.",
    500: "Dataverse failed internally; retry later and quote the request id to support.",
    502: "A gateway failed; retry later.",
    503: "Dataverse is unavailable or busy; retry later.",
    504: "A gateway timed out; lower the batch size or retry later.",
}


def request_id_of(response: httpx.Response) -> str | None:
    """The service's request id for support cases, from whichever diagnostics header is present."""
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def parse_retry_after(value: str | None, default: float = 1.0) -> float:
    """``Retry-After`` in seconds (Dataverse sends integer seconds); ``default`` when absent or odd."""
    if not value:
        return default
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return default


def error_body(payload: Any) -> tuple[str | None, str]:
    """``(code, message)`` from a decoded Dataverse or OAuth error body, tolerating other shapes."""
    if isinstance(payload, dict):
        err = payload.get("error")
        if isinstance(err, dict):
            code = err.get("code")
            message = err.get("message") or ""
            return (str(code) if code is not None else None), str(message)
        if isinstance(err, str):  # OAuth style: {"error": "invalid_client", "error_description": ...}
            return err, str(payload.get("error_description") or err)
        if "Message" in payload:
            return None, str(payload["Message"])
    return None, ""


def error_from_response(response: httpx.Response, *, what: str = "") -> DataverseError:
    """The error a failed response stands for: ``Throttled`` for 429, else ``DataverseError``."""
    status = response.status_code
    code: str | None = None
    message = ""
    try:
        code, message = error_body(response.json())
    except (ValueError, UnicodeDecodeError, httpx.ResponseNotRead):
        message = ""
    if not message:
        message = f"HTTP {status} {response.reason_phrase}".strip()
    if what:
        message = f"{what}: {message}"
    request_id = request_id_of(response)
    hint = _HINTS_BY_CODE.get(code or "") or _HINTS_BY_STATUS.get(status)
    if status == 429:
        return Throttled(
            message, retry_after=parse_retry_after(response.headers.get("retry-after")),
            code=code, request_id=request_id, hint=hint,
        )
    return DataverseError(message, status=status, code=code, request_id=request_id, hint=hint)


def error_from_transport(exc: Exception, *, url: str = "") -> DataverseError:
    """A ``DataverseError`` (status 0) for a connection, timeout or protocol failure."""
    where = f" talking to {httpx.URL(url).host}" if url else ""
    if isinstance(exc, httpx.TimeoutException):
        return DataverseError(
            f"timed out{where}: {type(exc).__name__}", status=0, code="timeout",
            hint="The service was slow to answer; lower the batch size or raise the timeout.",
        )
    if isinstance(exc, httpx.ConnectError):
        return DataverseError(
            f"could not connect{where}: {exc}", status=0, code="connect",
            hint="Check the environment URL, DNS, proxy settings and network access.",
        )
    return DataverseError(
        f"connection failed{where}: {type(exc).__name__}: {exc}", status=0, code="transport",
        hint="The connection was dropped; seeder retries idempotent requests automatically.",
    )


def auth_error(message: str, *, hint: str | None = None, **details: Any) -> AuthError:
    """An ``AuthError`` with a default hint about where sign-in settings come from."""
    return AuthError(
        message,
        hint=hint or "Check --auth / SEEDER_AUTH, SEEDER_TENANT_ID, SEEDER_CLIENT_ID and the secret source.",
        **details,
    )
