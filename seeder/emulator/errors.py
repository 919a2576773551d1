"""Dataverse-shaped HTTP errors raised inside the emulator and rendered as ``{"error":{"code","message"}}``.

Codes and messages follow the Web API documentation (dataverse-protocol.md §2.6); where Microsoft
documents none, the message says what the real service says in the equivalent SDK fault.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "bad_property",
    "bad_syntax",
    "duplicate",
    "not_found",
    "segment_not_found",
]


class ApiError(Exception):
    """An error response: HTTP status, Dataverse hex code, message and extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def bad_property(name: str, table: str) -> ApiError:
    # Real service: 400, code 0x0, "Could not find a property named 'x' on type 'Microsoft.Dynamics.CRM.y'."
    return ApiError(400, "0x0", f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table}'.")


def bad_syntax(message: str) -> ApiError:
    return ApiError(400, "0x80060888", message)


def segment_not_found(segment: str) -> ApiError:
    return ApiError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


def not_found(table: str, row_id: str) -> ApiError:
    return ApiError(404, "0x80040217", f"{table} With Id = {row_id} Does Not Exist")


def duplicate(message: str = "A record with matching key values already exists.") -> ApiError:
    return ApiError(412, "0x80040237", message)
