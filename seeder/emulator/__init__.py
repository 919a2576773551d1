"""A Dataverse Web API emulator on the standard library: WSGI app, SQLite store, loopback server.

Public entry points: :class:`EmulatorConfig`, :func:`make_app` (a WSGI callable, also usable through
``httpx.WSGITransport``), :func:`serve` and :func:`running_emulator`, plus :func:`parse_cost_ms` and
:func:`parse_faults` for the command-line strings.
"""

from __future__ import annotations

from .app import EmulatorApp, add_route, make_app
from .config import CostModel, EmulatorConfig, FaultSpec, parse_cost_ms, parse_faults
from .limits import write_ceiling_records_per_s
from .server import running_emulator, serve

__all__ = [
    "CostModel",
    "EmulatorApp",
    "EmulatorConfig",
    "FaultSpec",
    "add_route",
    "make_app",
    "parse_cost_ms",
    "parse_faults",
    "running_emulator",
    "serve",
    "write_ceiling_records_per_s",
]
