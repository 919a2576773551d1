"""The record masker: applies a rule set to Web-API-shaped records, table by table.

``Masker(rules, key, schema).mask_record(table, record)`` returns a new record. It never touches
primary ids, GUID columns, lookups (``_x_value``) or OData annotations (``x@...``), whatever the rules
say. Columns are masked in phases: plain maskers, then templates (which read the record's masked
columns), then free-text scrubbing (which replaces the record's own original values by their masked
values). Columns that are unique (``unique: true`` or part of an alternate key) are guarded: a collision
gets a deterministic keyed suffix and is counted. Counts per column are kept for the masking manifest;
values never are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from seeder.errors import MaskingError
from seeder.masking.fake import FakePools
from seeder.masking.freetext import PhraseIndex, ScrubMasker
from seeder.masking.keys import Keyed
from seeder.masking.maskers import (
    ColumnMasker,
    DigitsMasker,
    EmailMasker,
    RecordContext,
    compile_masker,
    normalise,
)
from seeder.masking.rules import ColumnRule, DigitsSpec, EmailSpec, MaskerSpec, RuleSet, ScrubSpec, ShuffleSpec
from seeder.model import Record, Schema, Table

__all__ = ["NEVER_MASKED_TYPES", "ColumnStats", "Masker", "is_never_masked"]

_PHRASE_KINDS = frozenset({"fake", "template", "email"})
NEVER_MASKED_TYPES = frozenset({"Uniqueidentifier", "Lookup", "Customer", "Owner", "PartyList", "EntityName"})


def is_never_masked(table: Table | None, column: str) -> bool:
    """True for primary ids, GUID and lookup columns, ``_x_value`` properties and OData annotations."""
    if "@" in column or (column.startswith("_") and column.endswith("_value")):
        return True
    if table is None:
        return False
    if column == table.primary_id:
        return True
    col = table.column(column)
    return col is not None and (col.type in NEVER_MASKED_TYPES or col.is_primary_id)


@dataclass
class ColumnStats:
    """Counts for one masked column (compliance evidence; never values)."""

    table: str
    column: str
    masker: str
    rule: str
    values: int = 0
    changed: int = 0
    collisions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "masker": self.masker,
            "rule": self.rule,
            "values": self.values,
            "changed": self.changed,
            "collisions": self.collisions,
        }


class _ShuffleMasker(ColumnMasker):
    kind = "shuffle"
    value_class = "shuffle"

    def __init__(self, owner: Masker, table: str, column: str) -> None:
        self.owner, self.table, self.column = owner, table, column

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        assignment = self.owner.shuffle_assignment(self.table, self.column)
        return assignment.get(ctx.record_id, value)


@dataclass
class _Slot:
    masker: ColumnMasker
    stats: ColumnStats
    unique: bool
    max_length: int | None


class Masker:
    """Masks records with one rule set under one key. Not thread-safe (keep one per worker)."""

    def __init__(self, rules: RuleSet, key: bytes, schema: Schema, *, pools: FakePools | None = None) -> None:
        self.rules = rules
        self.schema = schema
        self.keyed = Keyed(key)
        self.pools = pools or FakePools(rules.locale)
        self._slots: dict[str, dict[str, _Slot | None]] = {}
        self._seen: dict[tuple[str, str], dict[str, str]] = {}
        self._shuffles: dict[tuple[str, str], dict[str, Any]] = {}
        self._compiled: dict[int, ColumnMasker] = {}
        self._scrub_helpers: tuple[EmailMasker, DigitsMasker, DigitsMasker, DigitsMasker] | None = None
        self.phrases = PhraseIndex()
        self._last_kinds: list[tuple[str, str, str]] = []
        # compile every rule now, so a bad provider or locale fails before any data is read
        for rule in rules.rules:
            if not isinstance(rule.spec, ShuffleSpec):
                self._compile(rule)

    # -- compilation ---------------------------------------------------------------------------------
    def _helpers(self) -> tuple[EmailMasker, DigitsMasker, DigitsMasker, DigitsMasker]:
        if self._scrub_helpers is None:
            self._scrub_helpers = (
                EmailMasker(EmailSpec(masker="email"), self.keyed, self.pools),
                DigitsMasker(DigitsSpec(masker="digits"), self.keyed),
                DigitsMasker(DigitsSpec(masker="digits", keep_leading=2, **{"class": "iban"}), self.keyed),
                DigitsMasker(DigitsSpec(masker="digits", keep_leading=0, **{"class": "card"}), self.keyed),
            )
        return self._scrub_helpers

    def _scrub(self, spec: MaskerSpec) -> ColumnMasker:
        if not isinstance(spec, ScrubSpec):
            raise MaskingError(f"masker {spec.masker!r} cannot be compiled here")
        email, phone, iban, card = self._helpers()
        return ScrubMasker(spec.detectors, spec.record_aware, email=email, phone=phone, iban=iban, card=card,
                           phrases=self.phrases)

    def _compile(self, rule: ColumnRule) -> ColumnMasker:
        masker = self._compiled.get(id(rule))
        if masker is None:
            masker = compile_masker(rule.spec, self.keyed, self.pools, self._scrub)
            self._compiled[id(rule)] = masker
        return masker

    def _slot(self, table: str, column: str) -> _Slot | None:
        per_table = self._slots.setdefault(table, {})
        if column in per_table:
            return per_table[column]
        meta = self.schema.get(table)
        slot: _Slot | None = None
        rule = None if is_never_masked(meta, column) else self.rules.resolve(table, column)
        if rule is not None:
            if isinstance(rule.spec, ShuffleSpec):
                masker: ColumnMasker = _ShuffleMasker(self, table, column)
            else:
                masker = self._compile(rule)
            col = meta.column(column) if meta else None
            in_key = meta is not None and any(column in k.columns for k in meta.keys)
            unique = (rule.spec.unique or in_key) and masker.kind not in ("keep", "null", "shuffle")
            where = rule.label + (f" (line {rule.line})" if rule.line else "")
            stats = ColumnStats(table, column, masker.kind, where)
            slot = _Slot(masker, stats, unique, col.max_length if col else None)
        per_table[column] = slot
        return slot

    def has_free_text(self, table: str, columns: Iterable[str]) -> bool:
        """True when a rule scrubs one of ``columns`` of ``table`` (its text may name related records)."""
        for column in columns:
            slot = self._slot(table, column)
            if slot is not None and slot.masker.phase == 2:
                return True
        return False

    # -- shuffle -------------------------------------------------------------------------------------
    def shuffle_columns(self, table: str, columns: Iterable[str]) -> list[str]:
        """Which of ``columns`` the rules shuffle (they need :meth:`prepare_shuffle` before masking)."""
        out = []
        for column in columns:
            slot = self._slot(table, column)
            if slot is not None and slot.masker.kind == "shuffle":
                out.append(column)
        return out

    def prepare_shuffle(self, table: str, column: str, items: Iterable[tuple[str, Any]]) -> None:
        """Give the column's ``(record id, value)`` pairs; values are then permuted among those records."""
        pairs = [(str(rid).lower(), value) for rid, value in items]
        purpose = f"{table}.{column}"
        src = sorted(pairs, key=lambda p: self.keyed.digest("shuffle-src|" + purpose, p[0]))
        dst = sorted(pairs, key=lambda p: self.keyed.digest("shuffle-dst|" + purpose, p[0]))
        self._shuffles[(table, column)] = {d[0]: s[1] for s, d in zip(src, dst, strict=True)}

    def shuffle_assignment(self, table: str, column: str) -> dict[str, Any]:
        try:
            return self._shuffles[(table, column)]
        except KeyError:
            raise MaskingError(
                f"{table}.{column} is shuffled but prepare_shuffle() was not called for it"
            ) from None

    # -- masking -------------------------------------------------------------------------------------
    def mask_record(self, table: str, record: Record, related: Sequence[tuple[str, str]] = ()) -> Record:
        """A masked copy of ``record`` (a row of ``table`` in the Web API shape).

        ``related`` are extra ``(original, masked)`` pairs for free-text scrubbing, e.g. those of the
        record a note or activity is about (see :meth:`mask_record_pairs`).
        """
        return self.mask_record_pairs(table, record, related)[0]

    def mask_record_pairs(
        self, table: str, record: Record, related: Sequence[tuple[str, str]] = ()
    ) -> tuple[Record, list[tuple[str, str]]]:
        """The masked record and its own ``(original, masked)`` text pairs (names, e-mails, phones)."""
        return self._mask(table, record, related, learning=False)

    def learn(self, table: str, record: Record) -> list[tuple[str, str]]:
        """Teach free-text scrubbing the record's multi-word values (full names, companies, streets).

        Run over every record before masking (a first pass) so that a name written in any note,
        activity or description, whichever record it belongs to, is replaced by its masked value.
        Counts nothing in the statistics. Returns the record's own ``(original, masked)`` pairs.
        """
        _, pairs = self._mask(table, record, (), learning=True)
        phrase_pairs = [(o, m) for o, m, kind in self._last_kinds if kind in _PHRASE_KINDS]
        words = tuple((o, m) for o, m in phrase_pairs if len(o.split()) == 1)
        for original, masked in phrase_pairs:
            self.phrases.add(original, masked, words)
        return pairs

    def has_phrase_columns(self, table: str, columns: Iterable[str]) -> bool:
        """True when a rule gives one of ``columns`` a fake or template value (a source of phrases)."""
        for column in columns:
            slot = self._slot(table, column)
            if slot is not None and slot.masker.kind in _PHRASE_KINDS:
                return True
        return False

    def _mask(
        self, table: str, record: Record, related: Sequence[tuple[str, str]], *, learning: bool
    ) -> tuple[Record, list[tuple[str, str]]]:
        meta = self.schema.get(table)
        rid = record.get(meta.primary_id) if meta else None
        ctx = RecordContext(record_id=str(rid).lower() if rid is not None else "", original=record)
        out = dict(record)
        later: list[tuple[str, _Slot]] = []
        for column, value in record.items():
            slot = self._slot(table, column)
            if slot is None:
                continue
            if slot.masker.phase:
                later.append((column, slot))
                continue
            self._apply(table, column, value, slot, ctx, out, learning)
        own: list[tuple[str, str]] | None = None
        if later:
            later.sort(key=lambda item: item[1].masker.phase)
            for column, slot in later:
                if slot.masker.phase == 2:
                    if learning:
                        break
                    if own is None:
                        own = list(ctx.pairs)
                        ctx.pairs.extend(related)
                self._apply(table, column, record[column], slot, ctx, out, learning)
        if learning:
            self._last_kinds = ctx.kinds
        return out, ctx.pairs if own is None else own

    def _apply(
        self, table: str, column: str, value: Any, slot: _Slot, ctx: RecordContext, out: Record, learning: bool
    ) -> None:
        stats = slot.stats
        if value is None:
            return
        masked = slot.masker.mask(value, ctx)
        if isinstance(masked, str) and slot.max_length is not None and len(masked) > slot.max_length:
            masked = masked[: slot.max_length]
        if slot.unique and isinstance(masked, str):
            masked = self._unique(table, column, value, masked, None if learning else stats)
        if not learning:
            stats.values += 1
            if masked != value:
                stats.changed += 1
        out[column] = masked
        ctx.masked[column] = masked
        if slot.masker.replaces_text and isinstance(value, str) and isinstance(masked, str):
            ctx.pairs.append((value, masked))
            if learning:
                ctx.kinds.append((value, masked, slot.masker.kind))

    def _unique(self, table: str, column: str, value: Any, masked: str, stats: ColumnStats | None) -> str:
        seen = self._seen.setdefault((table, column), {})
        original = normalise("text", str(value))
        candidate = masked
        attempt = 0
        while True:
            owner = seen.get(candidate)
            if owner is None or owner == original:
                seen[candidate] = original
                if attempt and stats is not None:
                    stats.collisions += 1
                return candidate
            attempt += 1
            tag = self.keyed.digest(f"unique|{table}.{column}|{attempt}", original).hex()[:6]
            local, at, domain = masked.rpartition("@")
            candidate = f"{local}.{tag}@{domain}" if at else f"{masked} {tag}"

    def stats(self) -> list[ColumnStats]:
        """Per-column counts so far, sorted by table and column."""
        out = [s.stats for cols in self._slots.values() for s in cols.values() if s is not None]
        return sorted(out, key=lambda s: (s.table, s.column))
