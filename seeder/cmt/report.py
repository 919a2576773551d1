"""What a CMT import or export did: record counts per table, N:N link counts, and every value it could not
carry (``dropped``) or carried with a caveat (``warnings``), each naming table, column and record id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CmtIssue", "CmtReport"]


@dataclass(frozen=True)
class CmtIssue:
    """One value (or column) that was dropped or needs attention. ``record_id`` is empty for column-level."""

    table: str
    column: str
    record_id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"table": self.table, "column": self.column, "record_id": self.record_id, "reason": self.reason}


@dataclass(frozen=True)
class CmtReport:
    direction: str  # "import" (package → snapshot) or "export" (snapshot → package)
    source: str
    target: str
    tables: dict[str, int] = field(default_factory=dict)
    n2n: dict[str, int] = field(default_factory=dict)
    dropped: tuple[CmtIssue, ...] = ()
    warnings: tuple[CmtIssue, ...] = ()

    @property
    def records(self) -> int:
        return sum(self.tables.values())

    @property
    def links(self) -> int:
        return sum(self.n2n.values())

    @property
    def ok(self) -> bool:
        """True when nothing was dropped."""
        return not self.dropped

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "source": self.source,
            "target": self.target,
            "ok": self.ok,
            "records": self.records,
            "links": self.links,
            "tables": dict(sorted(self.tables.items())),
            "n2n": dict(sorted(self.n2n.items())),
            "dropped": [i.to_dict() for i in self.dropped],
            "warnings": [i.to_dict() for i in self.warnings],
        }
