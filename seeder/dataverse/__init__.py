"""The Dataverse client: the only code in seeder that speaks HTTP.

Public surface: :class:`Environment` (connect, read, write, metadata), :class:`AuthConfig` and
:func:`auth_from_options` (sign-in), :class:`Bypass` (custom-logic bypass headers), :class:`RowResult`,
:class:`Changes`, :class:`ThroughputStats`, and :func:`doctor`.
"""

from seeder.dataverse.auth import AuthConfig, auth_from_options
from seeder.dataverse.credentials import token_provider
from seeder.dataverse.doctor import Check, DoctorReport, doctor
from seeder.dataverse.environment import Environment
from seeder.dataverse.reads import Changes
from seeder.dataverse.throttle import ThroughputStats
from seeder.dataverse.transport import Bypass
from seeder.dataverse.writes import RowResult

__all__ = [
    "AuthConfig",
    "Bypass",
    "Changes",
    "Check",
    "DoctorReport",
    "Environment",
    "RowResult",
    "ThroughputStats",
    "auth_from_options",
    "doctor",
    "token_provider",
]
