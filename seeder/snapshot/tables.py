"""Routing rows of one table into its chunk files in primary-id order.

:func:`write_sorted` takes ``(key, JSON line)`` pairs in any order. While keys increase, lines go straight
into the final chunk files (the cheap path, no extra I/O); at the first key out of order the chunks
written so far are moved aside as one sorted run and everything else goes through the
:class:`~seeder.snapshot.sorting.ExternalSorter`, whose merged output is then written as the chunks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from seeder.errors import SnapshotError
from seeder.snapshot.chunks import ENCRYPTED_SUFFIX, ChunkWriter
from seeder.snapshot.manifest import ChunkInfo, FileEntry
from seeder.snapshot.sorting import ExternalSorter, RunFile

__all__ = ["TMP_DIR", "ChunkSequence", "ChunkTarget", "JsonStringKey", "ProgressCallback", "write_sorted"]

ProgressCallback = Callable[[str, int], None]
TMP_DIR = "_tmp"
_PROGRESS_EVERY = 10_000


@dataclass
class ChunkTarget:
    """Where chunks go: the work directory, the key, rows per chunk and the files written so far."""

    work: Path
    key: bytes | None
    chunk_rows: int
    files: dict[str, FileEntry] = field(default_factory=dict)

    def stored(self, relpath: str) -> str:
        """The on-disk name of ``relpath`` (``.enc`` appended when encrypting)."""
        return relpath + ENCRYPTED_SUFFIX if self.key is not None else relpath


class ChunkSequence:
    """Writes sorted lines of one table into consecutive chunk files (or one file when ``single``)."""

    def __init__(self, owner: ChunkTarget, table: str, *, single: str | None = None) -> None:
        self._owner = owner
        self._table = table
        self._single = single
        self._index = 0
        self._current: ChunkWriter | None = None
        self._first: str | None = None
        self._last: str | None = None
        self.chunks: list[ChunkInfo] = []

    def _next_relpath(self) -> str:
        if self._single is not None:
            name = self._single
        else:
            name = f"{self._index:05d}.jsonl.zst"
            self._index += 1
        return self._owner.stored(f"data/{self._table}/{name}")

    def add(self, key: str, line: bytes) -> None:
        if self._current is None:
            relpath = self._next_relpath()
            fs_path = self._owner.work / relpath
            fs_path.parent.mkdir(parents=True, exist_ok=True)
            self._current = ChunkWriter(fs_path, relpath, self._owner.key)
            self._first = key
        self._current.write_line(line)
        self._last = key
        if self._single is None and self._current.rows >= self._owner.chunk_rows:
            self._finish()

    def _finish(self) -> None:
        current = self._current
        if current is None:
            return
        self._current = None
        digest = current.close()
        self._owner.files[current.relpath] = FileEntry(digest.sha256, digest.size)
        self.chunks.append(ChunkInfo(current.relpath, current.rows, self._first, self._last))

    def close(self) -> list[ChunkInfo]:
        self._finish()
        return self.chunks

    def abort(self) -> None:
        if self._current is not None:
            self._current.abort()
            self._current = None

    def detach(self, tmp_dir: Path) -> list[RunFile]:
        """Move what was written so far out of the way, as one sorted run; start again at chunk 0."""
        self._finish()
        tmp_dir.mkdir(parents=True, exist_ok=True)
        run: list[RunFile] = []
        for chunk in self.chunks:
            target = tmp_dir / f"sorted-{len(run):06d}"
            (self._owner.work / chunk.file).rename(target)
            self._owner.files.pop(chunk.file, None)
            run.append(RunFile(target, chunk.file, keyed=False))
        self.chunks = []
        self._index = 0
        return run



def write_sorted(target: ChunkTarget, table: str, pairs: Iterator[tuple[str, bytes]], out: ChunkSequence,
                 key_of: Callable[[bytes], str], *, unique: bool, progress: ProgressCallback | None) -> int:
    """Route pairs into ``out`` in key order: directly while sorted, through an external sort after."""
    tmp_dir = target.work / TMP_DIR / table
    sorter: ExternalSorter | None = None
    last: str | None = None
    count = 0
    for key, line in pairs:
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(table, count)
        if sorter is None:
            if last is None or key > last:
                out.add(key, line)
                last = key
                continue
            if key == last:
                if unique:
                    raise SnapshotError(f"{table}: primary id {key} occurs twice")
                continue
            sorter = ExternalSorter(tmp_dir, f"{TMP_DIR}/{table}", target.key, target.chunk_rows, key_of)
            sorter.add_sorted_run(out.detach(tmp_dir))
        sorter.add(key, line)
    if sorter is not None:
        previous: str | None = None
        for key, line in sorter.merged():
            if key == previous:
                if unique:
                    raise SnapshotError(f"{table}: primary id {key} occurs twice")
                continue
            out.add(key, line)
            previous = key
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return count


class JsonStringKey:
    """Key of a tombstone line (a JSON string)."""

    def __call__(self, line: bytes) -> str:
        return str(orjson.loads(line))
