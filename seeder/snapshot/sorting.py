"""External merge sort of (primary id, JSON line) pairs in bounded memory.

The writer hands rows over as ``(key, line)``. Pairs are buffered up to ``run_rows`` rows (or 64 MiB),
sorted and spilled to a temporary run file (zstd, and sealed with the snapshot key when the snapshot is
encrypted, so no plaintext PII is left in temporary files either). ``merged()`` then k-way merges the runs
(at most ``FAN_IN`` files open at once; more runs are merged in passes). Run lines carry their key as
``<len>:<JSON key><JSON record>`` so merging never parses JSON.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from seeder.errors import SnapshotError
from seeder.snapshot.chunks import ChunkWriter, iter_chunk_lines

__all__ = ["FAN_IN", "ExternalSorter", "RunFile", "iter_run"]

FAN_IN = 16
_RUN_BUFFER_BYTES = 64 << 20
_RUN_WINDOW_LOG = 17  # 128 KiB zstd window: FAN_IN runs are decompressed at once
_RUN_FRAME_BYTES = 128 << 10  # and, when encrypted, each holds one frame in memory

Pair = tuple[str, bytes]


@dataclass(frozen=True)
class RunFile:
    """A file of sorted pairs: where it is on disk and the path bound into its encryption.

    ``keyed`` runs hold ``<len>:<JSON key><JSON record>`` lines; un-keyed ones are ordinary chunks whose key is read
    from the ``primary_id`` property of each record.
    """

    fs_path: Path
    relpath: str
    keyed: bool = True


def _encode(key: str, line: bytes) -> bytes:
    raw = orjson.dumps(key)  # JSON-escaped: a key may contain a newline
    return str(len(raw)).encode("ascii") + b":" + raw + line


def _decode(entry: bytes) -> Pair:
    colon = entry.index(b":")
    length = int(entry[:colon])
    start = colon + 1
    return str(orjson.loads(entry[start : start + length])), entry[start + length :]


def iter_run(run: Iterable[RunFile], key: bytes | None, key_of: Callable[[bytes], str]) -> Iterator[Pair]:
    """The pairs of a run stored in one or more consecutive files."""
    for part in run:
        for entry in iter_chunk_lines(part.fs_path, part.relpath, key):
            if part.keyed:
                yield _decode(entry)
            else:
                yield key_of(entry), entry


class KeyOf:
    """Reads the sort key out of a JSON line (only used for runs that are plain chunks)."""

    def __init__(self, primary_id: str) -> None:
        self.primary_id = primary_id

    def __call__(self, line: bytes) -> str:
        value = orjson.loads(line).get(self.primary_id)
        if value is None:
            raise SnapshotError(f"a record has no {self.primary_id}")
        return str(value)


class ExternalSorter:
    """Accepts pairs in any order; yields them sorted by key with bounded memory."""

    def __init__(
        self, tmp_dir: Path, tmp_relpath: str, key: bytes | None, run_rows: int, key_of: Callable[[bytes], str]
    ) -> None:
        self._tmp_dir = tmp_dir
        self._tmp_relpath = tmp_relpath
        self._key = key
        self._run_rows = max(1, run_rows)
        self._key_of = key_of
        self._buffer: list[Pair] = []
        self._buffer_bytes = 0
        self._runs: list[list[RunFile]] = []
        self._counter = itertools.count()
        tmp_dir.mkdir(parents=True, exist_ok=True)

    def add_sorted_run(self, run: list[RunFile]) -> None:
        """Adopt files that already hold sorted rows (the writer's output before it saw disorder)."""
        if run:
            self._runs.append(run)

    def add(self, key: str, line: bytes) -> None:
        # an exact-size copy: orjson's output buffers are over-allocated, so holding them costs ~4 KiB each
        self._buffer.append((key, bytes(memoryview(line))))
        self._buffer_bytes += len(line) + len(key)
        if len(self._buffer) >= self._run_rows or self._buffer_bytes >= _RUN_BUFFER_BYTES:
            self._spill()

    def _new_run_file(self) -> tuple[ChunkWriter, RunFile]:
        name = f"run-{next(self._counter):06d}.jsonl.zst"
        run = RunFile(self._tmp_dir / name, f"{self._tmp_relpath}/{name}")
        writer = ChunkWriter(run.fs_path, run.relpath, self._key, window_log=_RUN_WINDOW_LOG,
                             frame_bytes=_RUN_FRAME_BYTES)
        return writer, run

    def _spill(self) -> None:
        if not self._buffer:
            return
        self._buffer.sort(key=_first)
        writer, run = self._new_run_file()
        for key, line in self._buffer:
            writer.write_line(_encode(key, line))
        writer.close()
        self._buffer.clear()
        self._buffer_bytes = 0
        self._runs.append([run])

    def _merge_into_run(self, group: list[list[RunFile]]) -> list[RunFile]:
        writer, run = self._new_run_file()
        try:
            for key, line in heapq.merge(*(iter_run(r, self._key, self._key_of) for r in group), key=_first):
                writer.write_line(_encode(key, line))
        finally:
            writer.close()
        for r in group:
            _remove(r)
        return [run]

    def merged(self) -> Iterator[Pair]:
        """Every pair added, sorted by key (ties keep no particular order). Consumes the sorter."""
        self._buffer.sort(key=_first)
        in_memory = list(self._buffer)
        self._buffer.clear()
        while len(self._runs) + 1 > FAN_IN:
            groups = [self._runs[i : i + FAN_IN] for i in range(0, len(self._runs), FAN_IN)]
            self._runs = [self._merge_into_run(g) if len(g) > 1 else g[0] for g in groups]
        sources: list[Iterator[Pair]] = [iter_run(r, self._key, self._key_of) for r in self._runs]
        sources.append(iter(in_memory))
        yield from heapq.merge(*sources, key=_first)
        for r in self._runs:
            _remove(r)
        self._runs = []


def _first(pair: Pair) -> str:
    return pair[0]


def _remove(run: list[RunFile]) -> None:
    for part in run:
        part.fs_path.unlink(missing_ok=True)
