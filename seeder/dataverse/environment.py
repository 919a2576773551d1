"""``Environment``: one connected Dataverse environment — the public face of ``seeder.dataverse``.

Owns connecting (sign-in, WhoAmI for the ``x-ms-dop-hint``), organisation facts, table-name resolution,
schema reads, streaming record reads, change tracking, single-row CRUD with upsert modes, bulk writes,
N:N association, state changes and action/function calls, and the Power Platform calls next to Dataverse
(connections, canvas app sharing, administration mode). HTTP details live in ``transport``; reads in
``reads``; bulk writes in ``writes``; metadata conversion in ``metadata``; Power Platform APIs in ``platform``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx
import orjson

from seeder.dataverse import metadata as md
from seeder.dataverse.auth import AuthConfig
from seeder.dataverse.platform import PlatformApi, is_loopback
from seeder.dataverse.reads import (
    Changes,
    ChangeStream,
    iter_fetchxml,
    iter_partitioned,
    iter_records_paged,
    read_changes,
)
from seeder.dataverse.throttle import ThroughputStats
from seeder.dataverse.transport import Bypass, Transport
from seeder.dataverse.writes import MODES, BulkWriter, RowResult, TableRef, entity_id_from_url
from seeder.errors import AuthError, DataverseError, UsageError
from seeder.model import OrgInfo, Record, Schema

__all__ = ["Environment", "odata_literal"]

_ORG_TYPES = {  # OrganizationDetail.OrganizationType → environment type
    "Customer": "Production", "CustomerTest": "Sandbox", "CustomerFreeTest": "Trial", "Trial": "Trial",
    "CustomerPreview": "Sandbox", "Developer": "Developer", "Default": "Default", "Teams": "Teams",
}


def odata_literal(value: Any) -> str:
    """A Python value as an OData URL literal (strings quoted with ``''`` escaping)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(odata_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return "'" + str(value).replace("'", "''") + "'"


class Environment:
    """A connected environment. Use :meth:`connect`; close it (or use ``with``) when done."""

    def __init__(self, transport: Transport, auths: Sequence[AuthConfig]) -> None:
        self.transport = transport
        self._auths = tuple(auths)
        self._writer = BulkWriter(transport)
        self._refs: dict[str, TableRef] = {}
        self._refs_lock = threading.Lock()
        self._whoami: dict[str, Any] | None = None
        self.platform = PlatformApi(transport, self._auths[0], self._environment_id)

    @classmethod
    def connect(
        cls, url: str, auth: AuthConfig | Sequence[AuthConfig] | None = None, *, bypass: Bypass | None = None,
        max_concurrency: int | None = None, transport: httpx.BaseTransport | None = None,
        check: bool = True,
    ) -> Environment:
        """Sign in to ``url`` (``https://ORG.crm.dynamics.com``) with one or several identities.

        Several ``AuthConfig`` fan requests out over several application users (limits are per user).
        With ``check`` the first call is WhoAmI, which proves the sign-in and sets the starting
        concurrency from ``x-ms-dop-hint``.
        """
        auths = [AuthConfig()] if auth is None else [auth] if isinstance(auth, AuthConfig) else list(auth)
        if not auths:
            raise UsageError("no sign-in configuration given")
        env = cls(Transport(url, auths, bypass=bypass, max_concurrency=max_concurrency, transport=transport),
                  auths)
        if check:
            try:
                env.whoami()
                for lane in range(1, len(auths)):  # every identity signs in, not only the first
                    env.transport.json("GET", "WhoAmI", what=f"WhoAmI (identity {lane + 1})", lane=lane)
            except DataverseError as exc:
                env.close()
                if exc.status == 401:
                    hint = ("No sign-in is configured (method none) for a real environment: use --auth."
                            if all(a.method == "none" for a in auths) and not is_loopback(env.transport.host)
                            else exc.hint)
                    raise AuthError(f"the environment refused the token: {exc.message}", hint=hint,
                                    request_id=exc.request_id) from None
                raise
            except BaseException:
                env.close()
                raise
        return env

    def __enter__(self) -> Environment:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def url(self) -> str:
        return self.transport.base

    @property
    def auths(self) -> tuple[AuthConfig, ...]:
        return self._auths

    @property
    def stats(self) -> ThroughputStats:
        return self.transport.stats()

    # -- organisation -------------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        """``{"UserId", "BusinessUnitId", "OrganizationId"}`` of the (first) signed-in identity."""
        body = self.transport.json("GET", "WhoAmI", what="WhoAmI", lane=0)
        self._whoami = {k: v for k, v in body.items() if not k.startswith("@")}
        return dict(self._whoami)

    def version(self) -> str:
        return str(self.function("RetrieveVersion").get("Version", ""))

    def org_info(self) -> OrgInfo:
        """Name, id, version and environment type (Production, Sandbox, ...; ``Unknown`` if not exposed)."""
        who = self._whoami or self.whoami()
        org_id = str(who.get("OrganizationId", ""))
        orgs = self.transport.json("GET", "organizations", params={"$select": "organizationid,name"},
                                   what="organizations").get("value", [])
        row = next((o for o in orgs if str(o.get("organizationid")) == org_id), orgs[0] if orgs else {})
        env_type, extra = "Unknown", {}
        try:
            detail = self.function("RetrieveCurrentOrganization",
                                   AccessType=_Raw("Microsoft.Dynamics.CRM.EndpointAccessType'Default'"))
            det = detail.get("Detail", {})
            raw_type = str(det.get("OrganizationType", ""))
            env_type = _ORG_TYPES.get(raw_type, raw_type or "Unknown")
            extra = {k: det[k] for k in ("EnvironmentId", "UniqueName", "UrlName", "Geo", "TenantId") if k in det}
        except DataverseError:
            pass
        if env_type == "Unknown" and row.get("environmenttype"):  # the emulator's organization row
            env_type = str(row["environmenttype"])
        return OrgInfo(
            organization_id=org_id or str(row.get("organizationid", "")), name=str(row.get("name", "")),
            url=self.url, version=self.version(), environment_type=env_type,
            user_id=str(who.get("UserId", "")), business_unit_id=str(who.get("BusinessUnitId", "")),
            extra=extra,
        )

    # -- tables -------------------------------------------------------------------------------------
    def register_schema(self, schema: Schema) -> None:
        """Remember entity sets and primary ids from a known schema (saves metadata look-ups)."""
        with self._refs_lock:
            for t in schema.tables:
                self._refs[t.name] = TableRef(t.name, t.entity_set, t.primary_id)

    def table_ref(self, table: str) -> TableRef:
        """Entity set and primary id of ``table`` (a logical name), looked up once."""
        with self._refs_lock:
            ref = self._refs.get(table)
        if ref is not None:
            return ref
        body = self.transport.json(
            "GET", f"EntityDefinitions(LogicalName={odata_literal(table)})",
            params={"$select": "LogicalName,EntitySetName,PrimaryIdAttribute"}, what=f"table {table}",
        )
        ref = TableRef(table, str(body["EntitySetName"]), str(body["PrimaryIdAttribute"]))
        with self._refs_lock:
            self._refs[table] = ref
        return ref

    def schema(self, tables: Sequence[str] | None = None) -> Schema:
        """The environment's metadata as a Schema (all tables when ``tables`` is ``None``)."""
        schema = md.read_schema(lambda path, params: self.transport.json("GET", path, params=params,
                                                                          what="metadata"), tables)
        self.register_schema(schema)
        return schema

    # -- reads --------------------------------------------------------------------------------------
    def iter_records(self, table: str, *, select: Sequence[str] | None = None, filter: str | None = None,
                     fetchxml: str | None = None, page_size: int = 5000, partitions: int = 1) -> Iterator[Record]:
        """Every row of ``table`` ordered by primary id, one page in memory at a time.

        ``partitions`` > 1 reads that many id ranges in parallel (for big tables), still in id order.
        """
        ref = self.table_ref(table)
        if fetchxml:
            yield from iter_fetchxml(self.transport, ref.entity_set, fetchxml, page_size=page_size,
                                     what=f"read {table}")
            return
        params = {"$orderby": f"{ref.primary_id} asc"}
        if select:
            params["$select"] = ",".join(dict.fromkeys([ref.primary_id, *select]))
        if filter:
            params["$filter"] = filter
        if partitions > 1:
            yield from iter_partitioned(self.transport, ref.entity_set, ref.primary_id, params,
                                        partitions=min(partitions, 16), page_size=page_size, what=f"read {table}")
            return
        yield from iter_records_paged(self.transport, ref.entity_set, params, page_size=page_size,
                                      what=f"read {table}")

    def iter_changes(self, table: str, delta_token: str | None, *, select: Sequence[str] | None = None,
                     page_size: int = 5000) -> Changes:
        """Rows changed and ids deleted since ``delta_token`` (every row when ``None``) and the next token."""
        ref = self.table_ref(table)
        return read_changes(self.transport, ref.entity_set, delta_token,
                            select=list(select) if select else None, page_size=page_size,
                            what=f"changes {table}")

    def stream_changes(self, table: str, delta_token: str | None, *, select: Sequence[str] | None = None,
                       page_size: int = 1000) -> ChangeStream:
        """The same changes as :meth:`iter_changes`, streamed: iterate for ``("upsert", record)`` and
        ``("delete", id)``; the next token is ``.delta_token`` once the stream is drained."""
        ref = self.table_ref(table)
        return ChangeStream(self.transport, ref.entity_set, delta_token, select=list(select) if select else None,
                            page_size=page_size, what=f"changes {table}")

    def count(self, table: str) -> int:
        """Number of rows (``/$count``; Dataverse caps this at 5000 on some versions)."""
        ref = self.table_ref(table)
        response = self.transport.request("GET", f"{ref.entity_set}/$count", what=f"count {table}",
                                          headers={"Accept": "text/plain"})
        text = response.text.strip().lstrip("\ufeff")
        if not text.isdigit():
            raise DataverseError(f"count {table}: not a number: {text[:40]!r}", status=200, code="bad_count")
        return int(text)

    def get(self, table: str, id: str, *, select: Sequence[str] | None = None) -> Record | None:
        """One row by id, ``None`` when it does not exist."""
        ref = self.table_ref(table)
        params = {"$select": ",".join(select)} if select else None
        response = self.transport.request(
            "GET", f"{ref.entity_set}({id})", params=params, expect=(404,), what=f"get {table}",
            headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'},
        )
        if response.status_code == 404:
            return None
        body: Record = orjson.loads(response.content)
        body.pop("@odata.context", None)
        return body

    # -- writes -------------------------------------------------------------------------------------
    def create(self, table: str, body: Mapping[str, Any]) -> str:
        """Create a row (not retried on a dropped connection: it might exist); returns its id."""
        ref = self.table_ref(table)
        response = self.transport.request("POST", ref.entity_set, json=dict(body), what=f"create {table}")
        rid = entity_id_from_url(response.headers.get("odata-entityid", ""))
        if not rid and response.content:
            rid = str(orjson.loads(response.content).get(ref.primary_id, ""))
        return rid or str(body.get(ref.primary_id, ""))

    def update(self, table: str, id: str, body: Mapping[str, Any], *, if_match: str = "*") -> None:
        """Update an existing row (404 DataverseError if absent; 412 if ``if_match`` is a stale ETag)."""
        ref = self.table_ref(table)
        self.transport.request("PATCH", f"{ref.entity_set}({id})", json=dict(body),
                               headers={"If-Match": if_match}, what=f"update {table}")

    def upsert(self, table: str, id: str, body: Mapping[str, Any], *, mode: str = "upsert") -> int:
        """PATCH by id: ``upsert`` (create or update), ``create-only`` (If-None-Match: *) or ``update-only``."""
        if mode not in MODES:
            raise UsageError(f"unknown write mode {mode!r}", hint="Use upsert, create-only or update-only.")
        ref = self.table_ref(table)
        headers = {"create-only": {"If-None-Match": "*"}, "update-only": {"If-Match": "*"}}.get(MODES[mode], {})
        response = self.transport.request("PATCH", f"{ref.entity_set}({id})", json=dict(body),
                                          headers=headers, what=f"{mode} {table}")
        return response.status_code

    def delete(self, table: str, id: str) -> bool:
        """Delete a row; ``False`` when it was already gone."""
        ref = self.table_ref(table)
        response = self.transport.request("DELETE", f"{ref.entity_set}({id})", expect=(404,),
                                          what=f"delete {table}")
        return response.status_code != 404

    def write_many(self, table: str, rows: Iterable[tuple[str, dict[str, Any]]], *, mode: str = "upsert",
                   batch_size: int = 100) -> Iterator[RowResult]:
        """Write rows in parallel (``*Multiple`` with ``$batch`` fallback); one RowResult per row."""
        return self._writer.write_many(self.table_ref(table), rows, mode=mode, batch_size=batch_size)

    def associate(self, table: str, id: str, navigation: str, target_table: str, target_id: str) -> None:
        """Link two rows over a collection-valued navigation property (N:N or 1:N) via ``$ref``."""
        ref, target = self.table_ref(table), self.table_ref(target_table)
        self.transport.request(
            "POST", f"{ref.entity_set}({id})/{navigation}/$ref", idempotent=True,
            json={"@odata.id": f"{self.transport.api}/{target.entity_set}({target_id})"},
            what=f"associate {table}.{navigation}",
        )

    def associate_many(self, table: str, navigation: str, target_table: str, pairs: Iterable[tuple[str, str]],
                       *, batch_size: int = 100) -> Iterator[RowResult]:
        """Link many ``(id, target id)`` pairs, batched and in parallel; one result per pair (``"id:target"``)."""
        return self._writer.associate_many(self.table_ref(table), navigation, self.table_ref(target_table), pairs,
                                           batch_size=batch_size)

    def set_state(self, table: str, id: str, statecode: int, statuscode: int) -> None:
        """Set ``statecode`` and ``statuscode`` together (as Dataverse requires)."""
        self.update(table, id, {"statecode": statecode, "statuscode": statuscode})

    def action(self, name: str, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Call an unbound action (``POST {API}/name``); returns its JSON response (``{}`` for 204)."""
        body = self.transport.json("POST", name, json=dict(payload or {}), what=f"action {name}")
        return dict(body) if isinstance(body, dict) else {"value": body}

    def function(self, name: str, **params: Any) -> dict[str, Any]:
        """Call an unbound function with parameter aliases: ``name(P=@p1)?@p1=<literal>``."""
        if not params:
            path, query = name, None
        else:
            aliases = {f"@p{i}": v for i, v in enumerate(params.values(), start=1)}
            path = name + "(" + ",".join(f"{k}=@p{i}" for i, k in enumerate(params, start=1)) + ")"
            query = {a: (v.text if isinstance(v, _Raw) else odata_literal(v)) for a, v in aliases.items()}
        body = self.transport.json("GET", path, params=query, what=f"function {name}")
        return dict(body) if isinstance(body, dict) else {"value": body}

    def _environment_id(self) -> str:
        org = self.function("RetrieveCurrentOrganization",
                            AccessType=_Raw("Microsoft.Dynamics.CRM.EndpointAccessType'Default'"))
        return str(org.get("Detail", {}).get("EnvironmentId", ""))

    # -- Power Platform APIs (connections, app sharing, administration mode; see ``platform``) -------
    def list_connections(self) -> list[dict[str, Any]]:
        """Power Apps connections of this environment (``{"name", "id", "properties": {...}}`` each)."""
        return self.platform.list_connections()

    def list_app_permissions(self, app_id: str) -> list[dict[str, Any]]:
        """Who the canvas app ``app_id`` (its per-environment ``uniquecanvasappid``) is shared with, sorted by
        name: ``{"name", "id", "properties": {"roleName": "Owner"|"CanEdit"|"CanView", "principal": {"id",
        "type": "User"|"Group"|"Tenant", ...}}}`` each. An unknown app raises a 404 ``DataverseError``."""
        return self.platform.list_app_permissions(app_id)

    def share_app(self, app_id: str, principal: Mapping[str, Any], role: str) -> None:
        """Share the canvas app with ``principal`` (``{"id": object id, "type": "User"|"Group"}`` or
        ``{"type": "Tenant", "tenantId": ...}`` for Everyone) as ``role`` (``CanView`` or ``CanEdit``; Everyone
        only CanView), without notifying anyone. Sharing again changes the role."""
        self.platform.share_app(app_id, principal, role)

    def unshare_app(self, app_id: str, permission_id: str) -> None:
        """Stop sharing: remove the permission ``permission_id`` (its ``name`` or full ``id``)."""
        self.platform.unshare_app(app_id, permission_id)

    def admin_state(self) -> tuple[bool | None, bool | None]:
        """``(administration mode on, background operations enabled)`` from the Power Platform admin API;
        ``None`` for what the answer does not say."""
        return self.platform.admin_state()

    def set_admin_state(self, *, admin_mode: bool, background_operations: bool) -> None:
        """Turn administration mode on or off and background operations on or off (as
        ``Set-AdminPowerAppEnvironmentRuntimeState`` does)."""
        self.platform.set_admin_state(admin_mode=admin_mode, background_operations=background_operations)


class _Raw:
    """A parameter value passed to a function verbatim (an enum literal, for instance)."""

    def __init__(self, text: str) -> None:
        self.text = text
