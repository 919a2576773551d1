"""``doctor``: checks that an environment is usable and says what is wrong, with a hint for each problem.

Checks, in order: sign-in (WhoAmI), privileges (reading a couple of core tables), API version
(RetrieveVersion), the limits headers (``x-ms-dop-hint``, ``x-ms-ratelimit-*``) and the environment type
(a warning on production). Each check is a :class:`Check`; a failed sign-in skips the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from seeder.dataverse.environment import Environment
from seeder.errors import SeederError

__all__ = ["Check", "DoctorReport", "doctor"]

_PROBE_TABLES = ("systemuser", "businessunit")


@dataclass(frozen=True)
class Check:
    """One diagnostic: ``status`` is ``pass``, ``warn`` or ``fail``."""

    name: str
    status: str
    detail: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "hint": self.hint}


@dataclass(frozen=True)
class DoctorReport:
    """All checks; ``ok`` when none failed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


def _fail(name: str, exc: SeederError) -> Check:
    return Check(name, "fail", exc.message, exc.hint)


def doctor(env: Environment, *, tables: Sequence[str] = _PROBE_TABLES) -> DoctorReport:
    """Run every check against a connected (or connect-without-check) environment."""
    checks: list[Check] = []
    try:
        who = env.whoami()
        methods = ", ".join(sorted({a.method for a in env.auths}))
        checks.append(Check("sign-in", "pass", f"signed in ({methods}) as user {who.get('UserId', '?')}"))
    except SeederError as exc:
        checks.append(_fail("sign-in", exc))
        return DoctorReport(checks)

    for table in tables:
        try:
            ref = env.table_ref(table)
            response = env.transport.request("GET", ref.entity_set, params={"$top": "1",
                                             "$select": ref.primary_id}, what=f"read {table}")
            checks.append(Check(f"read {table}", "pass", f"can read {ref.entity_set}"))
            _limits(checks, response.headers)
        except SeederError as exc:
            checks.append(_fail(f"read {table}", exc))

    try:
        version = env.version()
        major = version.split(".")[0] if version else ""
        status = "pass" if major.isdigit() and int(major) >= 9 else "warn"
        checks.append(Check("api version", status, f"Dataverse {version or 'unknown'}",
                            None if status == "pass" else "seeder expects Web API v9.x."))
    except SeederError as exc:
        checks.append(_fail("api version", exc))

    stats = env.stats
    if stats.dop_hint is not None:
        checks.append(Check("parallelism hint", "pass", f"x-ms-dop-hint {stats.dop_hint}"))
    else:
        checks.append(Check("parallelism hint", "warn", "no x-ms-dop-hint header seen",
                            "seeder starts at 4 parallel requests and adapts to 429s."))

    try:
        org = env.org_info()
        kind = org.environment_type
        if org.is_production:
            checks.append(Check("environment type", "warn", f"{org.name}: Production",
                                "Restores into production are refused unless explicitly allowed."))
        elif kind == "Unknown":
            checks.append(Check("environment type", "warn", f"{org.name}: type not exposed",
                                "Treat it as production until you know otherwise."))
        else:
            checks.append(Check("environment type", "pass", f"{org.name}: {kind}"))
    except SeederError as exc:
        checks.append(_fail("environment type", exc))
    return DoctorReport(checks)




def _limits(checks: list[Check], headers: Any) -> None:
    if any(c.name == "limits headers" for c in checks):
        return
    burst = headers.get("x-ms-ratelimit-burst-remaining-xrm-requests")
    time_left = headers.get("x-ms-ratelimit-time-remaining-xrm-requests")
    if burst is None and time_left is None:
        checks.append(Check("limits headers", "warn", "no x-ms-ratelimit-* headers",
                            "Service-protection headers are informational; seeder adapts to 429s anyway."))
        return
    detail = f"burst remaining {burst}, time remaining {time_left}"
    low = burst is not None and burst.isdigit() and int(burst) < 100
    checks.append(Check("limits headers", "warn" if low else "pass", detail,
                        "Few requests left in this window: another job may be using this identity." if low
                        else None))
