"""The ``mask`` verb: masked copies of snapshots, the coverage gate and the leak check.

* :func:`mask_snapshot` streams every table of a snapshot through :class:`seeder.masking.Masker` into a
  new snapshot whose manifest says ``masked: true`` with the rule set's name and sha256, and stores a
  masking manifest (component ``masking/manifest.json``) as compliance evidence: which columns were
  masked with which masker and how many values; never a value.
* :func:`check_coverage` lists PII-like columns of a snapshot that no rule covers (``seeder mask --check``).
* :func:`leakcheck` proves that no original value of a masked column survives in the masked snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from seeder.errors import MaskingError, SeederError
from seeder.masking import (
    CoverageReport,
    LeakIndex,
    LeakReport,
    Masker,
    PiiColumn,
    RuleSet,
    check_pairs,
    coverage_report,
    faker_version,
    is_never_masked,
    load_rules,
)
from seeder.masking.keys import Keyed
from seeder.model import Record, Schema
from seeder.snapshot import Snapshot, SnapshotWriter

__all__ = ["MASKING_MANIFEST", "MaskReport", "check_coverage", "leakcheck", "mask_snapshot"]

MASKING_MANIFEST = "masking/manifest.json"
"""Component path of the masking manifest inside a masked snapshot."""

SAMPLE_ROWS = 200
CONTEXT_CACHE_LIMIT = 1_000_000
"""Records whose (original, masked) name/e-mail/phone pairs are kept for scrubbing the notes and
activities that point at them (memory ≈ 300 bytes each; beyond the limit, text about further records
relies on phrases and detectors only)."""
_NOT_INDEXED = frozenset({"keep", "shuffle", "scrub"})
"""Maskers whose original values are not searched for: kept or permuted on purpose, or free text
(whose PII is what the detectors and phrases find, not the text as a whole)."""
_DIGIT_MASKERS = frozenset({"digits"})

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class MaskReport:
    """What :func:`mask_snapshot` did (counts only, never values)."""

    source: str
    output: str
    rule_set: str
    rules_sha256: str
    tables: dict[str, int]
    columns: tuple[dict[str, Any], ...]
    uncovered: tuple[PiiColumn, ...] = ()
    seconds: float = 0.0
    values_masked: int = field(default=0)
    collisions: int = field(default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "output": self.output,
            "rule_set": self.rule_set,
            "rules_sha256": self.rules_sha256,
            "tables": dict(sorted(self.tables.items())),
            "rows": sum(self.tables.values()),
            "values_masked": self.values_masked,
            "collisions": self.collisions,
            "columns": list(self.columns),
            "uncovered": [c.to_dict() for c in self.uncovered],
            "seconds": round(self.seconds, 3),
        }


def _rules(rules: Path | RuleSet) -> RuleSet:
    return rules if isinstance(rules, RuleSet) else load_rules(Path(rules))


def _samples(snapshot: Snapshot, rows: int) -> dict[str, list[Record]]:
    return {table: list(islice(snapshot.resolved_records(table), rows)) for table in snapshot.tables}


def _links(record: Record) -> tuple[str, ...]:
    """The lowercased GUIDs a record's lookups point at."""
    return tuple(
        v.lower() for k, v in record.items() if isinstance(v, str) and k.startswith("_") and k.endswith("_value")
    )


def _context_tables(masker: Masker, schema: Schema, tables: list[str]) -> tuple[set[str], set[str]]:
    """Tables whose free text may name related records (consumers), and the tables they point at."""
    consumers: set[str] = set()
    targets: set[str] = set()
    present = set(tables)
    for table in tables:
        meta = schema.get(table)
        if meta is None or not masker.has_free_text(table, [c.name for c in meta.columns]):
            continue
        pointed = {t for lk in meta.lookups for t in lk.targets} | {
            t for c in meta.columns if c.is_lookup for t in c.targets
        }
        pointed &= present
        if pointed:
            consumers.add(table)
            targets |= pointed
    return consumers, targets


def mask_snapshot(
    src: Path,
    out: Path,
    *,
    rules: Path | RuleSet,
    key: bytes,
    snapshot_key: bytes | None = None,
    progress: Progress | None = None,
) -> MaskReport:
    """Write a masked copy of the snapshot ``src`` to ``out`` (encrypted with ``snapshot_key`` if given).

    A first pass teaches the masker every multi-word fake/template value (full names, company names,
    streets) so free text anywhere has them replaced; the second pass masks and writes.
    An incremental source is resolved through its chain, so the masked snapshot is always full.
    """
    started = time.perf_counter()
    rule_set = _rules(rules)
    source = Snapshot.open(Path(src), snapshot_key)
    if source.manifest.masking.get("masked"):
        raise MaskingError(
            f"{src} is already masked (rule set {source.manifest.masking.get('rule_set')!r})",
            hint="mask the original snapshot instead",
        )
    schema = source.schema
    masker = Masker(rule_set, key, schema)
    coverage = coverage_report(rule_set, schema, _samples(source, SAMPLE_ROWS) if SAMPLE_ROWS else None,
                               source.tables)
    keyed = Keyed(key)
    masking_state = {
        "rule_set": rule_set.name,
        "rules_sha256": rule_set.sha256,
        "masking_manifest": MASKING_MANIFEST,
        "mask_key_fingerprint": keyed.fingerprint(),
        "faker": faker_version(),
    }
    consumers, targets = _context_tables(masker, schema, source.tables)
    # First pass: every multi-word fake/template value becomes a phrase replaced in any free text, and
    # records that notes or activities point at keep their (original, masked) pairs and their own links,
    # so text about them, or about the records they point at (two hops), is replaced too.
    cache: dict[str, tuple[list[tuple[str, str]], tuple[str, ...]]] = {}
    for table in source.tables:
        meta = schema.get(table)
        if meta is None:
            continue
        target = table in targets
        if not (target or masker.has_phrase_columns(table, [c.name for c in meta.columns])):
            continue
        for record in source.resolved_records(table):
            pairs = masker.learn(table, record)
            if target and len(cache) < CONTEXT_CACHE_LIMIT:
                cache[str(record.get(meta.primary_id)).lower()] = (pairs, _links(record))

    def related(record: Record) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for link in _links(record):
            hit = cache.get(link)
            if hit is not None:
                out.extend(hit[0])
                for second in hit[1]:
                    further = cache.get(second)
                    if further is not None:
                        out.extend(further[0])
        return out

    def masked_records(table: str) -> Iterator[Record]:
        consumer = table in consumers
        for record in source.resolved_records(table):
            yield masker.mask_record(table, record, related(record) if consumer else ())

    counts: dict[str, int] = {}
    with SnapshotWriter(Path(out), schema=schema, source=None, key=snapshot_key, masking=masking_state,
                        progress=progress) as writer:
        for table in source.tables:
            meta = schema.get(table)
            columns = [c.name for c in meta.columns] if meta else []
            pk = meta.primary_id if meta else f"{table}id"
            for column in masker.shuffle_columns(table, columns):
                masker.prepare_shuffle(
                    table, column, ((str(r.get(pk)), r.get(column)) for r in source.resolved_records(table))
                )
            counts[table] = writer.write_table(table, masked_records(table), delta=False)
            if progress is not None:
                progress(table, counts[table])
        for relpath, data in source.components():
            if relpath != MASKING_MANIFEST:
                writer.write_component(relpath, data)
        stats = [s.to_dict() for s in masker.stats()]
        evidence = {
            "masked": True,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source_manifest_sha256": source.manifest_sha256,
            **masking_state,
            "rules_source": Path(rule_set.source).name,
            "tables": dict(sorted(counts.items())),
            "columns": stats,
            "uncovered": [c.to_dict() for c in coverage.uncovered],
            "free_text_phrases": len(masker.phrases),
        }
        writer.write_component(MASKING_MANIFEST, orjson.dumps(evidence, option=orjson.OPT_INDENT_2
                                                              | orjson.OPT_SORT_KEYS))
    return MaskReport(
        source=str(src),
        output=str(out),
        rule_set=rule_set.name,
        rules_sha256=rule_set.sha256,
        tables=counts,
        columns=tuple(stats),
        uncovered=coverage.uncovered,
        seconds=time.perf_counter() - started,
        values_masked=sum(int(s["changed"]) for s in stats),
        collisions=sum(int(s["collisions"]) for s in stats),
    )


def check_coverage(
    snapshot: Path,
    rules: Path | RuleSet,
    *,
    snapshot_key: bytes | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> CoverageReport:
    """PII-like columns of ``snapshot`` (metadata plus sampled values) that no rule covers.

    Without the key of an encrypted snapshot only metadata is used.
    """
    rule_set = _rules(rules)
    opened = Snapshot.open(Path(snapshot), snapshot_key)
    samples: dict[str, list[Record]] | None = None
    if sample_rows > 0 and (not opened.manifest.encrypted or snapshot_key is not None):
        samples = _samples(opened, sample_rows)
    return coverage_report(rule_set, opened.schema, samples, opened.tables)


def masking_manifest(snapshot: Snapshot) -> dict[str, Any]:
    """The masking manifest stored in a masked snapshot (``MaskingError`` when it is not masked)."""
    state = snapshot.manifest.masking
    if not state.get("masked"):
        raise MaskingError(f"{snapshot.path} is not a masked snapshot")
    relpath = str(state.get("masking_manifest", MASKING_MANIFEST))
    try:
        data = orjson.loads(snapshot.component(relpath))
    except (SeederError, orjson.JSONDecodeError) as exc:
        raise MaskingError(f"{snapshot.path}: its masking manifest cannot be read ({exc})") from exc
    if not isinstance(data, dict):
        raise MaskingError(f"{snapshot.path}: its masking manifest is malformed")
    return data


def _paired(
    table: str, pk: str, originals: Iterator[Record], masked: Iterator[Record]
) -> Iterator[tuple[str, str, Record | None, Record]]:
    """Merge-join two id-sorted streams: every masked record with its original (None when absent)."""
    current = next(originals, None)
    for record in masked:
        rid = str(record.get(pk))
        while current is not None and str(current.get(pk)) < rid:
            current = next(originals, None)
        if current is not None and str(current.get(pk)) == rid:
            yield table, rid, current, record
        else:
            yield table, rid, None, record


def leakcheck(
    original: Path,
    masked: Path,
    *,
    snapshot_key: bytes | None = None,
    masked_key: bytes | None = None,
    min_length: int = 4,
) -> LeakReport:
    """Search the masked snapshot for original values of every masked column, free text included.

    Memory grows with the number of distinct values in masked columns (they are indexed once).
    """
    source = Snapshot.open(Path(original), snapshot_key)
    target = Snapshot.open(Path(masked), masked_key if masked_key is not None else snapshot_key)
    evidence = masking_manifest(target)
    schema: Schema = source.schema
    masked_columns: dict[str, dict[str, str]] = {}
    for entry in evidence.get("columns", []):
        if entry.get("masker") not in _NOT_INDEXED:
            masked_columns.setdefault(str(entry["table"]), {})[str(entry["column"])] = str(entry["masker"])
    index = LeakIndex(min_length=min_length)
    for table, columns in sorted(masked_columns.items()):
        if table not in source.manifest.tables:
            continue
        meta = schema.get(table)
        digit_columns = {
            c for c, kind in columns.items()
            if kind in _DIGIT_MASKERS or (meta is not None and (col := meta.column(c)) is not None
                                          and col.format == "Phone")
        }
        for record in source.resolved_records(table):
            for column in columns:
                index.add(table, column, record.get(column), digits=column in digit_columns)

    def pairs() -> Iterator[tuple[str, str, Record | None, Record]]:
        for table in target.tables:
            meta = schema.get(table)
            pk = meta.primary_id if meta else f"{table}id"
            base: Iterator[Record] = (
                source.resolved_records(table) if table in source.manifest.tables else iter(())
            )
            yield from _paired(table, pk, base, target.resolved_records(table))

    return check_pairs(index, pairs(), skip_column=lambda t, c: is_never_masked(schema.get(t), c))
