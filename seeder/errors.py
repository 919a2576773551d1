"""The one error tree of seeder. Nothing here imports anything from seeder.

::

    SeederError(message, hint, exit_code)          exit 1
    ├── UsageError          bad arguments or files given by the user   exit 2
    ├── AuthError           sign-in failed or was refused              exit 3
    ├── DataverseError      the service answered with an error         exit 4
    │   │                   (status, code, request_id)
    │   └── Throttled       429 from service-protection limits; retryable
    ├── PlanError           no referentially consistent order exists   exit 5
    ├── SnapshotError       a snapshot is missing, damaged or unreadable exit 6
    ├── MaskingError        rules invalid, no key, or a coverage gap   exit 7
    ├── RestoreError        a restore could not run or left failures   exit 8
    ├── ComponentError      solution / flow / settings problems        exit 9
    └── SafetyError         refused: production target, unmasked data  exit 10

Only ``seeder.cli`` turns these into messages and exit codes. Every message passes through
:func:`redact` so a token, client secret or key can never reach a terminal or a log through an error.
Row-level failures are not exceptions: they are entries in the reports of the verbs.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

__all__ = [
    "AuthError",
    "ComponentError",
    "DataverseError",
    "MaskingError",
    "PlanError",
    "RestoreError",
    "SafetyError",
    "SeederError",
    "SnapshotError",
    "Throttled",
    "UsageError",
    "redact",
]

_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Authorization headers and bearer tokens
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.~+/=]{8,}"),
    # JWTs anywhere (three base64url parts, the first starting with eyJ)
    re.compile(r"eyJ[A-Za-z0-9\-_]{5,}\.[A-Za-z0-9\-_]{5,}\.[A-Za-z0-9\-_]*"),
    # key=value pairs whose key names a secret (query strings, form bodies, JSON, env dumps)
    re.compile(
        r"(?i)((?:client_secret|client_assertion|access_token|refresh_token|id_token|password|secret|"
        r"api[_-]?key|sig|token|key)\"?\s*[=:]\s*\"?)[^\s\"&,;}]{4,}"
    ),
)


def redact(text: str) -> str:
    """Replace anything that looks like a token, secret or key in ``text`` with ``***``."""
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


class SeederError(Exception):
    """Root of every error seeder raises on purpose.

    ``message`` says what went wrong, ``hint`` what to do about it; ``exit_code`` is what the CLI exits
    with. ``details`` holds structured fields for ``--json`` output (never secrets).
    """

    exit_code: ClassVar[int] = 1
    retryable: ClassVar[bool] = False
    partial_report: Any = None
    """What a verb had done when it stopped (it attaches its report so the CLI can still write it)."""

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        self.details = {k: redact(v) if isinstance(v, str) else v for k, v in details.items()}
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data: kind, message, hint, exit code and structured details."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "exit_code": self.exit_code,
            **self.details,
        }


class UsageError(SeederError):
    """The command line, a file or a setting given by the user is wrong."""

    exit_code = 2


class AuthError(SeederError):
    """Signing in failed, or the identity was refused by the service."""

    exit_code = 3


class DataverseError(SeederError):
    """The Dataverse Web API answered with an error body."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, hint=hint, **details)
        self.status = status
        self.code = code
        self.request_id = request_id

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(status=self.status, code=self.code, request_id=self.request_id)
        return data


class Throttled(DataverseError):
    """A 429 from Dataverse's service-protection limits. Retry after ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        kwargs.setdefault("status", 429)
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PlanError(SeederError):
    """No referentially consistent order exists (for example a cycle of required lookups)."""

    exit_code = 5


class SnapshotError(SeederError):
    """A snapshot is missing, incomplete, damaged, or cannot be decrypted."""

    exit_code = 6


class MaskingError(SeederError):
    """Masking rules are invalid, the key is missing, or PII columns are not covered."""

    exit_code = 7


class RestoreError(SeederError):
    """A restore could not start or finished with failed rows."""

    exit_code = 8


class ComponentError(SeederError):
    """A solution, flow, connection reference or deployment-settings file cannot be used."""

    exit_code = 9


class SafetyError(SeederError):
    """seeder refused to do something unsafe, such as writing to a production environment."""

    exit_code = 10
