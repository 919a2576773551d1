"""The emulator's SQLite store: one SQL table per Dataverse table, row versions and delete tombstones.

Storage shape: each Dataverse column is a SQL column of the same logical name (text columns compare
case-insensitively, as on SQL Server's default collation); a lookup ``x`` is stored as ``x`` (GUID) plus
``x__lt`` (target logical name). ``__v`` is the row version (one counter for the whole environment, the
``versionnumber`` / ETag of the row); ``__deleted`` keeps tombstones for change tracking. DateTimes are
stored as ``YYYY-MM-DDTHH:MM:SSZ`` so text order is time order. Intersect tables of N:N relationships
exist even when the schema does not list them.

One connection guarded by one re-entrant lock: every public method is thread-safe, and
``transaction()`` nests with SAVEPOINTs so changesets and ``*Multiple`` requests are all-or-nothing.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seeder.errors import UsageError
from seeder.model import Column, ManyToMany, Schema, Table

__all__ = ["SYSTEM_COLUMNS", "Store", "StoredTable", "intersect_table"]

SYSTEM_COLUMNS = ("__v",)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT_TYPES = frozenset({"Integer", "BigInt", "Picklist", "State", "Status", "Boolean"})
_REAL_TYPES = frozenset({"Decimal", "Double", "Money"})


def _quote(name: str) -> str:
    if not _IDENT.match(name):
        raise UsageError(f"'{name}' is not a usable column or table name")
    return f'"{name}"'


def intersect_table(rel: ManyToMany) -> Table:
    """The intersect table of an N:N relationship, as Dataverse exposes it (read-only GUID columns)."""
    return Table(
        name=rel.intersect_table,
        entity_set=rel.intersect_table + ("collection" if rel.intersect_table.endswith("s") else "s"),
        primary_id=f"{rel.intersect_table}id",
        columns=(
            Column(f"{rel.intersect_table}id", "Uniqueidentifier", is_primary_id=True),
            Column(rel.column1, "Uniqueidentifier", valid_for_update=False),
            Column(rel.column2, "Uniqueidentifier", valid_for_update=False),
        ),
        ownership="None",
        is_intersect=True,
    )


@dataclass(frozen=True)
class StoredTable:
    """A schema table with what the store needs to know about its SQL shape."""

    table: Table
    sql_name: str
    columns: tuple[Column, ...]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def primary_id(self) -> str:
        return self.table.primary_id

    def column(self, name: str) -> Column | None:
        col = self.table.column(name)
        if col is None and name == self.table.primary_id:
            return self.columns[0]
        return col


def _sql_type(col: Column) -> str:
    if col.type in _INT_TYPES:
        return "INTEGER"
    if col.type in _REAL_TYPES:
        return "REAL"
    return "TEXT COLLATE NOCASE"


class Store:
    """Thread-safe SQLite storage of one environment's rows."""

    def __init__(self, schema: Schema, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self._depth = 0
        self.path = path
        self.conn = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False,
                                    isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if path is not None:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS __meta (k TEXT PRIMARY KEY, v TEXT)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS __deleted (tbl TEXT, id TEXT, v INTEGER)")
        self.conn.execute("CREATE INDEX IF NOT EXISTS __deleted_v ON __deleted (tbl, v)")
        self.tables: dict[str, StoredTable] = {}
        self.schema = schema
        self.add_schema(schema)
        row = self.conn.execute("SELECT v FROM __meta WHERE k='version'").fetchone()
        self.version = int(row[0]) if row else 1000

    # -- schema ---------------------------------------------------------------------------------------
    def add_schema(self, schema: Schema) -> None:
        """Create SQL tables (and missing columns) for every table and intersect table of ``schema``."""
        with self.lock:
            tables = list(schema.tables)
            known = {t.name for t in tables}
            tables += [intersect_table(r) for r in schema.many_to_many if r.intersect_table not in known]
            for table in tables:
                self._ensure(table)
            if schema is not self.schema:
                extra = [t for t in tables if t.name not in {x.name for x in self.schema.tables}]
                merged = self.schema.merge(Schema(tables=tuple(extra)))
                self.schema = merged.merge(schema)

    def _ensure(self, table: Table) -> None:
        columns = list(table.columns)
        if table.column(table.primary_id) is None:
            columns.insert(0, Column(table.primary_id, "Uniqueidentifier", is_primary_id=True))
        sql_name = "t_" + table.name
        defs = []
        for col in columns:
            if col.name == table.primary_id:
                defs.append(f"{_quote(col.name)} TEXT PRIMARY KEY COLLATE NOCASE")
                continue
            defs.append(f"{_quote(col.name)} {_sql_type(col)}")
            if col.is_lookup:
                defs.append(f"{_quote(col.name + '__lt')} TEXT")
        defs.append('"__v" INTEGER NOT NULL')
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {_quote(sql_name)} ({', '.join(defs)})")
        have = {r[1] for r in self.conn.execute(f"PRAGMA table_info({_quote(sql_name)})")}
        for col in columns:
            if col.name not in have:
                self.conn.execute(f"ALTER TABLE {_quote(sql_name)} ADD COLUMN {_quote(col.name)} {_sql_type(col)}")
            if col.is_lookup and col.name + "__lt" not in have:
                self.conn.execute(f"ALTER TABLE {_quote(sql_name)} ADD COLUMN {_quote(col.name + '__lt')} TEXT")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS {_quote(sql_name + '__v')} ON {_quote(sql_name)} (__v)")
        # alternate keys and lookups are searched on every keyed write, bind, expand and delete
        for i, key in enumerate(table.keys):
            cols = ", ".join(_quote(c) for c in key.columns if table.column(c) is not None)
            if cols:
                self.conn.execute(f"CREATE INDEX IF NOT EXISTS {_quote(f'{sql_name}__k{i}')} "
                                  f"ON {_quote(sql_name)} ({cols})")
        for col in columns:
            if col.is_lookup:
                self.conn.execute(f"CREATE INDEX IF NOT EXISTS {_quote(f'{sql_name}__{col.name}')} "
                                  f"ON {_quote(sql_name)} ({_quote(col.name)})")
        self.tables[table.name] = StoredTable(table, sql_name, tuple(columns))

    def get_table(self, name: str) -> StoredTable | None:
        return self.tables.get(name)

    # -- transactions ---------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing block; nests (SAVEPOINT). Holds the store lock for its duration."""
        with self.lock:
            self._depth += 1
            name = f"sp{self._depth}"
            self.conn.execute(f"SAVEPOINT {name}")
            saved_version = self.version
            try:
                yield
            except BaseException:
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
                self.version = saved_version
                raise
            else:
                self.conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1

    def _next_version(self) -> int:
        self.version += 1
        self.conn.execute("INSERT OR REPLACE INTO __meta (k, v) VALUES ('version', ?)", (str(self.version),))
        return self.version

    # -- rows -----------------------------------------------------------------------------------------
    def get(self, table: str, row_id: str) -> dict[str, Any] | None:
        st = self.tables[table]
        with self.lock:
            row = self.conn.execute(
                f"SELECT * FROM {_quote(st.sql_name)} WHERE {_quote(st.primary_id)} = ?", (row_id.lower(),)  # noqa: S608 - identifiers are validated schema names
            ).fetchone()
        return dict(row) if row else None

    def exists(self, table: str, row_id: str) -> bool:
        st = self.tables[table]
        with self.lock:
            row = self.conn.execute(
                f"SELECT 1 FROM {_quote(st.sql_name)} WHERE {_quote(st.primary_id)} = ?", (row_id.lower(),)  # noqa: S608 - identifiers are validated schema names
            ).fetchone()
        return row is not None

    def find_by_key(self, table: str, values: dict[str, Any]) -> str | None:
        """The id of the row whose columns equal ``values`` (alternate-key lookup)."""
        st = self.tables[table]
        where = " AND ".join(f"{_quote(k)} = ?" for k in values)
        with self.lock:
            row = self.conn.execute(
                f"SELECT {_quote(st.primary_id)} FROM {_quote(st.sql_name)} WHERE {where} LIMIT 1",  # noqa: S608 - identifiers are validated schema names
                tuple(values.values()),
            ).fetchone()
        return str(row[0]) if row else None

    @staticmethod
    def _versioned(st: StoredTable, values: dict[str, Any], version: int) -> dict[str, Any]:
        out = {**values, "__v": version}
        if st.column("versionnumber") is not None:
            out["versionnumber"] = version
        return out

    def insert(self, table: str, values: dict[str, Any]) -> int:
        """Insert a row (``values`` in storage shape, primary id included); returns its version."""
        st = self.tables[table]
        with self.lock:
            version = self._next_version()
            values = self._versioned(st, values, version)
            cols = list(values)
            marks = ", ".join("?" for _ in cols)
            self.conn.execute(
                f"INSERT INTO {_quote(st.sql_name)} ({', '.join(_quote(c) for c in cols)}) VALUES ({marks})",  # noqa: S608 - identifiers are validated schema names
                tuple(values.values()),
            )
            return version

    def update(self, table: str, row_id: str, values: dict[str, Any]) -> int:
        st = self.tables[table]
        with self.lock:
            version = self._next_version()
            values = self._versioned(st, values, version)
            sets = ", ".join(f"{_quote(c)} = ?" for c in values)
            self.conn.execute(
                f"UPDATE {_quote(st.sql_name)} SET {sets} WHERE {_quote(st.primary_id)} = ?",  # noqa: S608 - identifiers are validated schema names
                (*values.values(), row_id.lower()),
            )
            return version

    def delete(self, table: str, row_id: str) -> bool:
        st = self.tables[table]
        with self.lock:
            cur = self.conn.execute(
                f"DELETE FROM {_quote(st.sql_name)} WHERE {_quote(st.primary_id)} = ?", (row_id.lower(),)  # noqa: S608 - identifiers are validated schema names
            )
            if cur.rowcount:
                self.conn.execute("INSERT INTO __deleted (tbl, id, v) VALUES (?, ?, ?)",
                                  (table, row_id.lower(), self._next_version()))
            return bool(cur.rowcount)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.lock:
            row = self.conn.execute(sql, tuple(params)).fetchone()
        return row[0] if row else None

    def deleted_since(self, table: str, version: int, upto: int) -> list[str]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT id FROM __deleted WHERE tbl = ? AND v > ? AND v <= ? ORDER BY v", (table, version, upto)
            ).fetchall()
        return [str(r[0]) for r in rows]

    def count(self, table: str) -> int:
        st = self.tables[table]
        return int(self.scalar(f"SELECT COUNT(*) FROM {_quote(st.sql_name)}"))  # noqa: S608 - identifiers are validated schema names

    # -- bulk -----------------------------------------------------------------------------------------
    def bulk_insert(self, rows: Iterable[tuple[str, dict[str, Any]]], chunk: int = 5000) -> int:
        """Insert (table, storage-shape row) pairs in transactions of ``chunk`` rows; existing ids replaced."""
        total = 0
        pending: list[tuple[str, dict[str, Any]]] = []

        def flush() -> None:
            with self.transaction():
                for table, values in pending:
                    st = self.tables[table]
                    self.version += 1
                    row = self._versioned(st, values, self.version)
                    self.conn.execute(
                        f"INSERT OR REPLACE INTO {_quote(st.sql_name)} ({', '.join(_quote(c) for c in row)}) "  # noqa: S608 - identifiers are validated schema names
                        f"VALUES ({', '.join('?' for _ in row)})",
                        tuple(row.values()),
                    )
                self._next_version()
            pending.clear()

        for item in rows:
            pending.append(item)
            total += 1
            if len(pending) >= chunk:
                flush()
        if pending:
            flush()
        return total

    def close(self) -> None:
        with self.lock:
            self.conn.close()
