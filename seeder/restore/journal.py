"""The restore journal: a SQLite file beside the run that makes a restore resumable.

It records the run's identity (snapshot, target, options), every finished chunk of every step, each row
that failed with its Dataverse error, and the source → target id map of matched reference data. A chunk
is marked done only after all its rows were answered, and each mark is committed at once, so killing the
process at any moment loses at most the chunk in flight — which ``--resume`` sends again (writes are
idempotent upserts keyed by the source GUIDs, so nothing is duplicated).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from seeder.errors import RestoreError

__all__ = ["Journal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS done (step INTEGER NOT NULL, chunk INTEGER NOT NULL, ok INTEGER NOT NULL,
                                 failed INTEGER NOT NULL, PRIMARY KEY (step, chunk));
CREATE TABLE IF NOT EXISTS failures (step INTEGER NOT NULL, tbl TEXT NOT NULL, id TEXT NOT NULL,
                                     action TEXT NOT NULL, status INTEGER, code TEXT, message TEXT,
                                     PRIMARY KEY (step, id));
CREATE TABLE IF NOT EXISTS skipped (tbl TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (tbl, id));
CREATE TABLE IF NOT EXISTS idmap (tbl TEXT NOT NULL, source_id TEXT NOT NULL, target_id TEXT NOT NULL,
                                  how TEXT NOT NULL, PRIMARY KEY (tbl, source_id));
"""


class Journal:
    """One restore's progress. ``fresh=True`` starts over; otherwise the run must match the stored identity."""

    def __init__(self, path: Path, identity: dict[str, str], *, fresh: bool) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if fresh and path.exists():
            path.unlink()
        existed = path.exists()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if existed and not fresh:
            stored = dict(self._db.execute("SELECT key, value FROM meta"))
            for key, value in identity.items():
                if key in stored and stored[key] != value:
                    self._db.close()
                    raise RestoreError(
                        f"the journal {path} belongs to another run ({key} was {stored[key]!r}, now {value!r})",
                        hint="resume with the same snapshot, target and options, or start over without --resume",
                    )
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted(identity.items()))
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('started', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))")

    def close(self) -> None:
        self._db.close()

    # -- chunks ---------------------------------------------------------------------------------------
    def is_done(self, step: int, chunk: int) -> bool:
        row = self._db.execute("SELECT 1 FROM done WHERE step = ? AND chunk = ?", (step, chunk)).fetchone()
        return row is not None

    def mark_done(self, step: int, chunk: int, ok: int, failed: list[dict[str, Any]],
                  skipped: Sequence[tuple[str, str]] = ()) -> None:
        """Record a finished chunk, its failed rows and the rows it left alone, in one transaction."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO skipped VALUES (?, ?)", list(skipped))
            self._db.executemany(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(step, f["table"], f["id"], f["action"], f.get("status"), f.get("code"), f.get("message"))
                 for f in failed],
            )
            self._db.execute("INSERT OR REPLACE INTO done VALUES (?, ?, ?, ?)", (step, chunk, ok, len(failed)))

    def done_counts_chunk(self, step: int, chunk: int) -> tuple[int, int]:
        row = self._db.execute("SELECT ok, failed FROM done WHERE step = ? AND chunk = ?", (step, chunk)).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def forget(self, step: int) -> None:
        """Drop the chunks and failures of ``step`` (a retry pass starts clean)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM done WHERE step = ?", (step,))
            self._db.execute("DELETE FROM failures WHERE step = ?", (step,))

    def move_failures(self, from_step: int, to_step: int) -> None:
        """Keep the failures of a retry pass under the step they belong to."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("UPDATE OR REPLACE failures SET step = ? WHERE step = ?", (to_step, from_step))
            self._db.execute("DELETE FROM done WHERE step = ?", (from_step,))

    def done_counts(self, step: int) -> tuple[int, int]:
        row = self._db.execute("SELECT COALESCE(SUM(ok), 0), COALESCE(SUM(failed), 0) FROM done WHERE step = ?",
                               (step,)).fetchone()
        return int(row[0]), int(row[1])

    def skipped(self) -> dict[str, set[str]]:
        """Rows a create-only run found already there, by table (they keep their own lookups and state)."""
        out: dict[str, set[str]] = {}
        for table, rid in self._db.execute("SELECT tbl, id FROM skipped"):
            out.setdefault(table, set()).add(rid)
        return out

    def started(self) -> str:
        """When this run was first started (UTC, ISO 8601)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'started'").fetchone()
        return str(row[0]) if row else ""

    def mark_completed(self) -> None:
        """Every step ran to its end (failed rows may remain)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('completed', '1')")

    def completed(self) -> bool:
        return self._db.execute("SELECT 1 FROM meta WHERE key = 'completed'").fetchone() is not None

    # -- failures -------------------------------------------------------------------------------------
    def failures(self, step: int | None = None) -> Iterator[dict[str, Any]]:
        sql = "SELECT step, tbl, id, action, status, code, message FROM failures"
        args: tuple[Any, ...] = ()
        if step is not None:
            sql += " WHERE step = ?"
            args = (step,)
        for row in self._db.execute(sql + " ORDER BY step, id", args):
            yield {"step": row[0], "table": row[1], "id": row[2], "action": row[3], "status": row[4],
                   "code": row[5], "message": row[6]}

    def clear_failures(self, step: int, ids: list[str]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM failures WHERE step = ? AND id = ?", [(step, i) for i in ids])

    def failure_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM failures").fetchone()[0])

    # -- id map ---------------------------------------------------------------------------------------
    def save_idmap(self, table: str, mapping: dict[str, tuple[str, str]]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO idmap VALUES (?, ?, ?, ?)",
                                 [(table, s, t, how) for s, (t, how) in sorted(mapping.items())])
