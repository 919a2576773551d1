"""PII detection and the coverage gate: which PII-like columns does no masking rule cover?

Signals, from metadata: Email/Phone string formats, name/contact/address-like column names, free-text
(Memo) columns and custom text columns; from sampled values: the free-text detectors (e-mail, phone,
IBAN, card). A column counts as covered when any rule resolves for it (an explicit ``keep`` is a
recorded decision). Primary ids, GUIDs and lookups are never reported: they are never masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seeder.masking.engine import is_never_masked
from seeder.masking.freetext import detect_spans
from seeder.masking.rules import RuleSet
from seeder.model import Record, Schema

__all__ = ["CoverageReport", "PiiColumn", "coverage_report", "find_pii_columns"]

_NAME_PATTERNS = re.compile(
    r"^(?:.*_)?(?:first|last|middle|full|nick|given|family|sur|maiden|spouses?|childrens?|assistant|manager)"
    r"_?names?$|^yomi|^(?:.*_)?(?:e_?mail|emailaddress)\w*$|^(?:.*_)?(?:tele)?phone\w*|^mobile\w*|^fax$|^pager$"
    r"|^home2$|^business2$|^address\d*_(?!addressid|addresstypecode|shippingmethodcode|freighttermscode|"
    r"utcoffset)\w+|^(?:.*_)?(?:street|city|postalcode|zip|birth\w*|governmentid|ssn|passport\w*|iban|"
    r"bankaccount\w*|creditcard\w*|taxid|nationalid|socialsecurity\w*|domainname|windowsliveid|"
    r"internalemailaddress|personalemailaddress|notetext|description)$",
    re.IGNORECASE,
)
_TEXT_TYPES = frozenset({"String", "Memo"})
SAMPLE_HIT_RATIO = 0.2
"""A column whose sampled non-empty values match a detector at least this often is flagged."""


@dataclass(frozen=True)
class PiiColumn:
    """A column that looks like it holds personal data, and why."""

    table: str
    column: str
    reasons: tuple[str, ...]
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "reasons": list(self.reasons), "rule": self.rule}


@dataclass(frozen=True)
class CoverageReport:
    """PII-like columns with and without a rule. ``ok`` is False when any is uncovered."""

    rules: str
    uncovered: tuple[PiiColumn, ...]
    covered: tuple[PiiColumn, ...] = field(default=())
    tables_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.uncovered

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rules": self.rules,
            "tables_checked": self.tables_checked,
            "uncovered": [c.to_dict() for c in self.uncovered],
            "covered": [c.to_dict() for c in self.covered],
        }


def _metadata_reasons(schema: Schema, table: str, column: str) -> list[str]:
    meta = schema.get(table)
    col = meta.column(column) if meta else None
    reasons: list[str] = []
    if col is not None:
        if col.format in ("Email", "Phone"):
            reasons.append(f"format {col.format}")
        if col.type in _TEXT_TYPES and col.is_custom:
            reasons.append(f"custom {col.type} column")
        if col.type == "Memo" and (col.is_custom or _NAME_PATTERNS.search(column)):
            reasons.append("free text")
        if col.type not in _TEXT_TYPES and col.type != "DateTime" and not reasons:
            return []  # numbers, option sets, booleans: only formats make them PII
    if _NAME_PATTERNS.search(column):
        reasons.append("name suggests personal data")
    return reasons


def find_pii_columns(
    schema: Schema,
    samples: Mapping[str, Iterable[Record]] | None = None,
) -> list[PiiColumn]:
    """PII-like columns of ``schema`` (and of sampled records, which may carry columns the schema lacks)."""
    found: dict[tuple[str, str], list[str]] = {}
    for table in schema.tables:
        for col in table.columns:
            if is_never_masked(table, col.name):
                continue
            reasons = _metadata_reasons(schema, table.name, col.name)
            if reasons:
                found[(table.name, col.name)] = reasons
    for table_name, records in (samples or {}).items():
        meta = schema.get(table_name)
        seen: dict[str, int] = {}
        hits: dict[str, dict[str, int]] = {}
        for record in records:
            for column, value in record.items():
                if not isinstance(value, str) or not value.strip() or is_never_masked(meta, column):
                    continue
                seen[column] = seen.get(column, 0) + 1
                for _, _, kind in detect_spans(value, ("email", "phone", "iban", "card")):
                    per = hits.setdefault(column, {})
                    per[kind] = per.get(kind, 0) + 1
        for column, kinds in hits.items():
            for kind, count in sorted(kinds.items()):
                if count >= max(1, SAMPLE_HIT_RATIO * seen[column]):
                    found.setdefault((table_name, column), []).append(f"sampled values contain {kind}")
            if meta is None or meta.column(column) is None:
                found.setdefault((table_name, column), [])
        for column in seen:
            if (table_name, column) not in found and _NAME_PATTERNS.search(column):
                found[(table_name, column)] = ["name suggests personal data"]
    return [PiiColumn(t, c, tuple(dict.fromkeys(r))) for (t, c), r in sorted(found.items()) if r]


def coverage_report(
    rules: RuleSet,
    schema: Schema,
    samples: Mapping[str, Iterable[Record]] | None = None,
    tables: Iterable[str] | None = None,
) -> CoverageReport:
    """Which PII-like columns of ``tables`` (default: all of the schema) no rule of ``rules`` covers."""
    wanted = set(tables) if tables is not None else None
    covered: list[PiiColumn] = []
    uncovered: list[PiiColumn] = []
    for pii in find_pii_columns(schema, samples):
        if wanted is not None and pii.table not in wanted:
            continue
        rule = rules.resolve(pii.table, pii.column)
        if rule is None:
            uncovered.append(pii)
        else:
            covered.append(PiiColumn(pii.table, pii.column, pii.reasons, f"{rule.label}:{rule.spec.masker}"))
    checked = len(wanted) if wanted is not None else len(schema.tables)
    return CoverageReport(rules.name, tuple(uncovered), tuple(covered), checked)
