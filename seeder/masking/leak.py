"""Leak check core: does any original value of a masked column survive in the masked data?

An index holds every original value (normalised: case-folded words; digits only for digit classes;
at least ``min_length`` characters) of the masked columns, anywhere in the snapshot. Each string field
is then compared with its masked counterpart (same table, record id and column): a value is a hit when
it occurs in the original field and still occurs in the masked field, free text included. Values that
occur only in the masked field were introduced by masking (a fake that happens to equal someone's real
value elsewhere) and are not leaks. Reports carry table, column, record id, a hash of the value and its
position, never the value. Single alphabetic words found inside longer text (a first name that is also
an ordinary word) are reported apart as ``weak`` hits.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from seeder.masking.freetext import PHONE_RE
from seeder.model import Record

__all__ = ["LeakHit", "LeakIndex", "LeakReport", "check_pairs", "value_fingerprint"]

_TOKEN = re.compile(r"[^\W_]+(?:[.'@+&-][^\W_]+)*")
_NON_DIGITS = re.compile(r"\D+")
MAX_WORDS = 6
MIN_DIGITS = 7


def value_fingerprint(normalised: str) -> str:
    """A short SHA-256 of a normalised value: lets people match hits without showing the value."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]


def _number_forms(number: str) -> set[str]:
    """A digit string and, for long ones, its national part (last 10 digits: no country code)."""
    if len(number) < MIN_DIGITS:
        return set()
    return {number, number[-10:]} if len(number) > 10 else {number}


def _numbers(text: str) -> set[str]:
    """Digit forms of the phone-like numbers in ``text`` and of the text as a whole."""
    found = _number_forms(_NON_DIGITS.sub("", text))
    for m in PHONE_RE.finditer(text):
        found |= _number_forms(_NON_DIGITS.sub("", m.group(0)))
    return found


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


@dataclass(frozen=True)
class LeakHit:
    """An original value found again in the masked snapshot."""

    table: str
    column: str
    record_id: str
    source: str
    value_sha256: str
    position: int
    strength: str = "strong"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "record_id": self.record_id,
            "source": self.source,
            "value_sha256": self.value_sha256,
            "position": self.position,
            "strength": self.strength,
        }


@dataclass(frozen=True)
class LeakReport:
    """Result of a leak check. ``ok`` when there is no strong hit."""

    hits: tuple[LeakHit, ...]
    weak_hits: tuple[LeakHit, ...] = ()
    values_indexed: int = 0
    fields_checked: int = 0
    records_checked: int = 0
    missing_records: int = 0
    by_column: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.hits

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "hits": len(self.hits),
            "weak_hits": len(self.weak_hits),
            "values_indexed": self.values_indexed,
            "fields_checked": self.fields_checked,
            "records_checked": self.records_checked,
            "missing_records": self.missing_records,
            "by_column": dict(sorted(self.by_column.items())),
            "hit_list": [h.to_dict() for h in self.hits[:1000]],
            "weak_hit_list": [h.to_dict() for h in self.weak_hits[:1000]],
        }


class LeakIndex:
    """Normalised original values of masked columns → the column they came from."""

    def __init__(self, min_length: int = 4) -> None:
        self.min_length = min_length
        self._words: dict[str, str] = {}
        self._digits: dict[str, str] = {}
        self._max_words = 1

    def __len__(self) -> int:
        return len(self._words) + len(self._digits)

    def add(self, table: str, column: str, value: Any, *, digits: bool = False) -> None:
        """Index one original value (non-strings and short values are ignored)."""
        if not isinstance(value, str):
            return
        source = f"{table}.{column}"
        if digits:
            number = _NON_DIGITS.sub("", value)
            for form in _number_forms(number):
                self._digits.setdefault(form, source)
        words = _tokens(value)
        if not words or len(words) > MAX_WORDS:
            return
        norm = " ".join(words)
        if len(norm) >= self.min_length:
            self._words.setdefault(norm, source)
            self._max_words = max(self._max_words, len(words))

    def _grams(self, words: list[str]) -> Iterator[tuple[str, int]]:
        for n in range(1, self._max_words + 1):
            for i in range(len(words) - n + 1):
                yield " ".join(words[i : i + n]), i

    def _found(self, text: str) -> tuple[dict[str, tuple[str, int]], dict[str, str]]:
        words = _tokens(text)
        found_words = {g: (self._words[g], len(g.split())) for g, _ in self._grams(words) if g in self._words}
        found_digits: dict[str, str] = {}
        if self._digits:
            for number in _numbers(text):
                if number in self._digits:
                    found_digits[number] = self._digits[number]
        return found_words, found_digits

    def scan(self, original: str, masked: str) -> list[tuple[str, str, int, bool]]:
        """``(fingerprint, source, position, weak)`` of indexed values in both ``original`` and ``masked``."""
        words, numbers = self._found(original)
        if not words and not numbers:
            return []
        out: list[tuple[str, str, int, bool]] = []
        masked_fold = masked.casefold()
        if words:
            masked_words = _tokens(masked)
            masked_grams = {g: i for g, i in self._grams(masked_words)}
            whole = " ".join(masked_words)
            for gram, (source, nwords) in words.items():
                if gram in masked_grams:
                    weak = nwords == 1 and gram.isalpha() and gram != whole
                    first = gram.split(" ", 1)[0]
                    out.append((value_fingerprint(gram), source, masked_fold.find(first), weak))
        if numbers:
            masked_numbers = _numbers(masked)
            for number, source in numbers.items():
                if number in masked_numbers:
                    out.append((value_fingerprint(number), source, -1, False))
        return out


def check_pairs(
    index: LeakIndex,
    pairs: Iterable[tuple[str, str, Record | None, Record]],
    *,
    skip_column: Any = None,
) -> LeakReport:
    """Scan ``(table, record_id, original_record, masked_record)`` pairs; ``original`` None = not found.

    ``skip_column(table, column) -> bool`` excludes columns that are never masked (ids, lookups).
    """
    hits: list[LeakHit] = []
    weak: list[LeakHit] = []
    by_column: dict[str, int] = {}
    fields = records = missing = 0
    for table, record_id, original, masked in pairs:
        records += 1
        if original is None:
            missing += 1
            continue
        for column, value in masked.items():
            if not isinstance(value, str) or (skip_column is not None and skip_column(table, column)):
                continue
            before = original.get(column)
            if not isinstance(before, str):
                continue
            fields += 1
            for fingerprint, source, position, is_weak in index.scan(before, value):
                hit = LeakHit(table, column, record_id, source, fingerprint, position,
                              "weak" if is_weak else "strong")
                if is_weak:
                    weak.append(hit)
                else:
                    hits.append(hit)
                    label = f"{table}.{column}"
                    by_column[label] = by_column.get(label, 0) + 1
    return LeakReport(tuple(hits), tuple(weak), len(index), fields, records, missing, by_column)
