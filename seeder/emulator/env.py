"""One emulated environment: its schema, store, organisation facts, navigation index and counters.

``Environment.load(config)`` builds the schema (the built-in CRM core with ``--demo``, plus every
``--schema`` source, plus the solution job tables), opens the store (memory or ``--state``) and, the first
time a state is created, loads the demo organisation in bulk transactions. With ``records=0`` the demo
organisation looks like a freshly copied sandbox ("minimal copy", dataverse-protocol.md §11.3–11.4): the
reference data plus the demo solution in its post-copy state (flows off, connection references without
connections, no environment variable values, canvas app with a new per-environment app id shared with
its owner only);
``with_connections`` adds one Connected connection per connector the connection references use. It also
resolves URL keys (GUIDs and alternate keys) and converts Web API values to the storage shape for bulk loading.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seeder.model import OrgInfo, Record, Schema, Table

from .config import EmulatorConfig
from .errors import ApiError, bad_syntax, segment_not_found
from .power_tables import job_schema
from .shape import NavIndex
from .store import Store, StoredTable

__all__ = ["Counters", "Environment", "now_text", "parse_key", "refreshed_sandbox"]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_KEY_PART = re.compile(r"\s*(\w+)\s*=\s*('(?:[^']|'')*'|[^,]+)\s*(?:,|$)")
ORG_NAMESPACE = uuid.UUID("6f1c2a8e-3c1b-4d7e-9a51-0d5e2b7c9f10")


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_key(text: str) -> str | dict[str, str]:
    """``<guid>`` → the GUID; ``k='v',k2=1`` → ``{k: raw literal}``."""
    text = text.strip()
    if _GUID.match(text):
        return text.lower()
    if text.startswith("{") and _GUID.match(text.strip("{}")):
        return text.strip("{}").lower()
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _KEY_PART.match(text, pos)
        if not m:
            raise bad_syntax(f"The key '{text}' is not valid.")
        out[m.group(1)] = m.group(2).strip()
        pos = m.end()
    if not out:
        raise bad_syntax(f"The key '{text}' is not valid.")
    return out


@dataclass
class Counters:
    """Totals reported by ``GET /_emulator/stats``."""

    requests: int = 0
    records_written: int = 0
    records_read: int = 0
    throttled: int = 0
    faults_injected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def to_dict(self) -> dict[str, int]:
        with self.lock:
            return {"requests": self.requests, "records_written": self.records_written,
                    "records_read": self.records_read, "throttled": self.throttled,
                    "faults_injected": self.faults_injected}


def refreshed_sandbox(rows: Iterable[tuple[str, Record]], seed: int) -> Iterator[tuple[str, Record]]:
    """Solution component rows as a copy/restore leaves them in the target (Microsoft's post-copy checklist):
    cloud flows off, connection references without ``connectionid``, no environment variable values (nor
    their solution components), canvas apps with the same ``canvasappid`` but a new ``uniquecanvasappid``."""
    dropped: set[str] = set()
    for table, record in rows:
        record = dict(record)
        if table == "environmentvariablevalue":
            dropped.add(str(record.get("environmentvariablevalueid", "")).lower())
            continue
        if table == "solutioncomponent" and str(record.get("objectid", "")).lower() in dropped:
            continue
        if table == "workflow" and record.get("category") == 5:
            record["statecode"], record["statuscode"] = 0, 1
        elif table == "connectionreference":
            record.pop("connectionid", None)
        elif table == "canvasapp" and record.get("uniquecanvasappid"):
            app_id = record["uniquecanvasappid"]
            record["uniquecanvasappid"] = str(uuid.uuid5(ORG_NAMESPACE, f"canvasapp:{seed}:{app_id}"))
        yield table, record


def production_state(rows: Iterable[tuple[str, Record]], seed: int) -> Iterator[tuple[str, Record]]:
    """Solution component rows as a production organisation runs them: connection references bound to the
    environment's own connections and cloud flows on."""
    from .connections import connection_id_for

    for table, record in rows:
        record = dict(record)
        if table == "workflow" and record.get("category") == 5:
            record["statecode"], record["statuscode"] = 1, 2
        elif table == "connectionreference" and record.get("connectorid"):
            api_name = str(record["connectorid"]).rstrip("/").rsplit("/", 1)[-1]
            record["connectionid"] = connection_id_for(api_name, seed, PRODUCTION_CONNECTIONS)
        yield table, record


PRODUCTION_CONNECTIONS = 1
"""Connection index of a production-like demo: its connections differ from a sandbox's (index 0)."""


def _default_org(config: EmulatorConfig) -> OrgInfo:
    org_id = str(uuid.uuid5(ORG_NAMESPACE, f"org:{config.seed}"))
    return OrgInfo(
        organization_id=org_id, name="Emulated Organization", url="http://127.0.0.1",
        version="9.2.24101.00000", environment_type="Production" if config.production else "Sandbox",
        user_id=str(uuid.uuid5(ORG_NAMESPACE, f"user:{config.seed}")),
        business_unit_id=str(uuid.uuid5(ORG_NAMESPACE, f"bu:{config.seed}")),
    )


class Environment:
    """Schema + store + organisation of one emulated Dataverse environment."""

    def __init__(self, config: EmulatorConfig, schema: Schema, org: OrgInfo) -> None:
        self.config = config
        self.org = org
        self.store = Store(schema, config.state)
        self.schema = self.store.schema
        self.navs = NavIndex.build(self.schema)
        self.counters = Counters()
        self.metadata_version = 1

    @classmethod
    def load(cls, config: EmulatorConfig, schema: Schema | None = None) -> Environment:
        """Build the environment ``config`` describes (demo data loaded once per state)."""
        base = schema if schema is not None else Schema()
        org = _default_org(config)
        if config.demo:
            from seeder.metadata import crm_core_schema

            from . import demo

            base = crm_core_schema().merge(base)
            org = demo.demo_org(config.seed, config.production)
        base = base.merge(job_schema())
        if config.schema_paths:
            from seeder.metadata import extend_schema, load_schema_source

            for path in config.schema_paths:
                base = extend_schema(base, load_schema_source(path))
        env = cls(config, base, org)
        if env.store.scalar("SELECT v FROM __meta WHERE k='loaded'") is None:
            if config.demo:
                env.bulk_load(demo.generate_demo(env.schema, seed=config.seed, records=config.records))
                solution_rows = demo.demo_solution_rows()
                if config.records == 0:  # a freshly copied sandbox: components broken, admin mode on
                    env.bulk_load(refreshed_sandbox(solution_rows, config.seed))
                    from .admin_api import set_runtime_state

                    set_runtime_state(env, "AdminMode", "Disabled")
                else:  # a production-like organisation: its own connections, references bound, flows on
                    from .app_permissions import seed_demo_app_permissions
                    from .connections import seed_demo_connections

                    env.bulk_load(production_state(solution_rows, config.seed))
                    seed_demo_connections(env, index=PRODUCTION_CONNECTIONS)
                    seed_demo_app_permissions(env)  # shared with a security group and Everyone
            if config.with_connections:
                from .connections import seed_demo_connections

                seed_demo_connections(env)
            with env.store.lock:
                env.store.conn.execute("INSERT OR REPLACE INTO __meta (k, v) VALUES ('loaded', '1')")
        return env

    @property
    def environment_id(self) -> str:
        """The Power Platform environment name (a GUID distinct from the organisation id, as on the service)."""
        return str(uuid.uuid5(ORG_NAMESPACE, f"environment:{self.org.organization_id}"))

    # -- tables and keys ------------------------------------------------------------------------------
    def table_for_set(self, entity_set: str) -> StoredTable:
        table = self.schema.by_entity_set(entity_set)
        if table is None:
            raise segment_not_found(entity_set)
        return self.store.tables[table.name]

    def stored(self, table: str) -> StoredTable:
        return self.store.tables[table]

    def key_values(self, st: StoredTable, key: dict[str, str]) -> dict[str, Any]:
        """Typed storage values of an alternate key given in the URL (validated against the table's Keys)."""
        wanted = set(key)
        if not any(set(k.columns) == wanted for k in st.table.keys):
            raise ApiError(400, "0x80060888",
                           f"The key {', '.join(sorted(wanted))} is not defined as an alternate key of "
                           f"'{st.name}'.")
        out: dict[str, Any] = {}
        for name, raw in key.items():
            col = st.column(name)
            if col is None:
                raise ApiError(400, "0x0", f"Could not find a property named '{name}' on type "
                               f"'Microsoft.Dynamics.CRM.{st.name}'.")
            if raw.startswith("'"):
                out[name] = raw[1:-1].replace("''", "'")
            elif col.is_lookup or col.type == "Uniqueidentifier":
                out[name] = raw.lower()
            else:
                try:
                    out[name] = int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw)
                except ValueError:
                    raise bad_syntax(f"The key value {raw} is not valid.") from None
        return out

    def resolve(self, st: StoredTable, key_text: str) -> tuple[str | None, dict[str, Any] | None]:
        """(existing id or None, alternate-key values or None) for a URL key."""
        key = parse_key(key_text)
        if isinstance(key, str):
            return (key if self.store.exists(st.name, key) else None), None
        values = self.key_values(st, key)
        return self.store.find_by_key(st.name, values), values

    def user_id(self, token: str) -> str:
        """The systemuser id a bearer token signs in as (the organisation's user for every token)."""
        return self.org.user_id or str(uuid.uuid5(ORG_NAMESPACE, f"token:{token}"))

    # -- bulk loading ---------------------------------------------------------------------------------
    def storage_row(self, table: Table, record: Record) -> dict[str, Any]:
        """A Web API-shaped record (lookups as ``_x_value``) in storage shape, for bulk loads."""
        st = self.store.tables[table.name]
        out: dict[str, Any] = {}
        for col in st.columns:
            if col.is_lookup:
                key = f"_{col.name}_value"
                value = record.get(key)
                if value is not None:
                    out[col.name] = str(value).lower()
                    target = record.get(key + "@Microsoft.Dynamics.CRM.lookuplogicalname")
                    out[col.name + "__lt"] = target or (col.targets[0] if len(col.targets) == 1 else None)
                continue
            if col.name in record:
                value = record[col.name]
                if isinstance(value, bool):
                    value = int(value)
                elif col.type == "DateTime" and isinstance(value, str):
                    from seeder.odata import normalize_datetime

                    value = normalize_datetime(value)
                    value = value[:10] if col.format == "DateOnly" else value
                elif col.type == "Uniqueidentifier" and isinstance(value, str):
                    value = value.lower()
                out[col.name] = value
        pid = out.get(st.primary_id) or str(uuid.uuid4())
        out[st.primary_id] = str(pid).lower()
        return out

    def bulk_load(self, rows: Iterable[tuple[str, Record]]) -> int:
        def convert() -> Iterator[tuple[str, dict[str, Any]]]:
            for table_name, record in rows:
                table = self.schema.get(table_name)
                if table is None:
                    continue
                yield table_name, self.storage_row(table, record)

        return self.store.bulk_insert(convert())
