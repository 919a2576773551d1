"""Deterministic, keyed PII masking (pure: no I/O beyond reading a rules file).

Rule sets (:mod:`.rules`), column maskers (:mod:`.maskers`, :mod:`.fake`, :mod:`.freetext`), the record
masker (:mod:`.engine`), PII detection and the coverage gate (:mod:`.detect`), and the leak check core
(:mod:`.leak`). The verb that masks whole snapshots is :mod:`seeder.mask`.
"""

from __future__ import annotations

from seeder.masking.detect import CoverageReport, PiiColumn, coverage_report, find_pii_columns
from seeder.masking.engine import ColumnStats, Masker, is_never_masked
from seeder.masking.fake import FakePools, faker_version
from seeder.masking.freetext import detect_spans, iban_valid, luhn_valid
from seeder.masking.keys import MASK_KEY_ENV, Keyed, load_mask_key
from seeder.masking.leak import LeakHit, LeakIndex, LeakReport, check_pairs
from seeder.masking.rules import ColumnRule, RuleSet, load_rules, parse_rules, rules_json_schema

__all__ = [
    "MASK_KEY_ENV",
    "ColumnRule",
    "ColumnStats",
    "CoverageReport",
    "FakePools",
    "Keyed",
    "LeakHit",
    "LeakIndex",
    "LeakReport",
    "Masker",
    "PiiColumn",
    "RuleSet",
    "check_pairs",
    "coverage_report",
    "detect_spans",
    "faker_version",
    "find_pii_columns",
    "iban_valid",
    "is_never_masked",
    "load_mask_key",
    "load_rules",
    "luhn_valid",
    "parse_rules",
    "rules_json_schema",
]
