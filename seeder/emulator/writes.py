"""Single-row writes: POST create, PATCH update/upsert, DELETE, single-property PUT/DELETE, and the
conversion of a Web API write body (``nav@odata.bind`` included) to the storage shape.

Semantics follow dataverse-protocol.md §5: client-set ids, ``OData-EntityId`` on 204, ``Prefer:
return=representation`` (201 on create, 200 on update), ``If-Match: *`` update-only, ``If-None-Match: *``
create-only, ETag concurrency (412), alternate-key addressing, ``@odata.bind`` to single and polymorphic
navigation properties (404 ``0x80040217`` for a missing target), statecode/statuscode pairs.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from seeder.model import Column
from seeder.odata import normalize_datetime

from .env import Environment, now_text
from .errors import ApiError, bad_syntax, duplicate, not_found
from .flow_rules import check_flow_activation
from .http import Request, Response, Segment, json_response, split_path
from .reads import parse_select, render_rows
from .store import StoredTable

__all__ = ["WriteBody", "convert_body", "create_row", "resolve_reference", "update_row"]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_INTS = frozenset({"Integer", "BigInt", "Picklist", "State", "Status"})
_NUMS = frozenset({"Decimal", "Double", "Money"})


@dataclass
class WriteBody:
    """A write body in storage shape, plus collection-valued binds to apply after the row exists."""

    values: dict[str, Any] = field(default_factory=dict)
    row_id: str | None = None
    collection_binds: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)


def resolve_reference(env: Environment, req: Request, ref: Any) -> tuple[str, str]:
    """``/accounts(<id>)``, ``accounts(key='v')``, an absolute URL or ``$1`` → (table, existing id)."""
    if not isinstance(ref, str):
        raise bad_syntax("An entity reference must be a string such as '/accounts(<id>)'.")
    text = ref.strip()
    if text.startswith("$") and text[1:].isdigit():
        if text[1:] not in req.content_ids:
            raise bad_syntax(f"Content-ID Reference: '{text}' does not exist in the batch context.")
        text = req.content_ids[text[1:]]
    if "/api/data/" in text:
        text = re.sub(r"^.*?/api/data/v[0-9.]+/", "", text)
    text = text.lstrip("/")
    segs = split_path(text)
    if len(segs) != 1 or segs[0].key is None:
        raise bad_syntax(f"The entity reference '{ref}' is not valid.")
    st = env.table_for_set(segs[0].name)
    row_id, key_values = env.resolve(st, segs[0].key)
    if row_id is None:
        if key_values is not None:
            raise ApiError(404, "0x80060891",
                           f"A record with the specified key values does not exist in {st.name} entity")
        raise not_found(st.name, segs[0].key)
    return st.name, row_id


def _invalid(col: Column, st: StoredTable, value: Any, edm: str) -> ApiError:
    return ApiError(400, "0x80060888", f"Cannot convert the literal '{value}' to the expected type '{edm}' "
                    f"for the property '{col.name}' of 'Microsoft.Dynamics.CRM.{st.name}'.")


def convert_value(st: StoredTable, col: Column, value: Any) -> Any:
    """A JSON value for ``col`` → its stored form (validated)."""
    if value is None:
        if col.required == "SystemRequired" and not col.is_primary_id:
            raise ApiError(400, "0x80040203", f"Attribute '{col.name}' of '{st.name}' cannot be set to null.")
        return None
    if col.type in ("String", "Memo", "EntityName", "MultiSelectPicklist") or col.type == "Virtual":
        if not isinstance(value, str):
            raise _invalid(col, st, value, "Edm.String")
        if col.max_length is not None and len(value) > col.max_length:
            raise ApiError(400, "0x80044331", f"A validation error occurred.  The length of the '{col.name}' "
                           f"attribute of the '{st.name}' entity exceeded the maximum allowed length of "
                           f"'{col.max_length}'.")
        return value
    if col.type == "Boolean":
        if not isinstance(value, bool):
            raise _invalid(col, st, value, "Edm.Boolean")
        return int(value)
    if col.type in _INTS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(col, st, value, "Edm.Int32")
        if col.options and col.type == "Picklist" and value not in {o for o, _ in col.options}:
            raise ApiError(400, "0x8004431a", f"A validation error occurred. The value {value} of '{col.name}' on "
                           f"record of type '{st.name}' is outside the valid range.")
        return value
    if col.type in _NUMS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(col, st, value, "Edm.Decimal")
        return float(value)
    if col.type == "DateTime":
        if not isinstance(value, str):
            raise _invalid(col, st, value, "Edm.DateTimeOffset")
        try:
            text = normalize_datetime(value)
        except ValueError:
            raise _invalid(col, st, value, "Edm.DateTimeOffset") from None
        return text[:10] if col.format == "DateOnly" else text
    if col.type == "Uniqueidentifier":
        if not isinstance(value, str) or not _GUID.match(value):
            raise _invalid(col, st, value, "Edm.Guid")
        return value.lower()
    return value


def convert_body(env: Environment, req: Request, st: StoredTable, body: Any, creating: bool) -> WriteBody:
    """A Web API write body → :class:`WriteBody` (unknown properties and bad binds are 400/404 errors)."""
    if not isinstance(body, dict):
        raise bad_syntax("The request body must be a JSON object.")
    out = WriteBody()
    singles = env.navs.single.get(st.name, {})
    collections = env.navs.collection.get(st.name, {})
    for key, value in body.items():
        if key.startswith("@"):
            continue
        if key.endswith("@odata.bind"):
            nav_name = key[: -len("@odata.bind")]
            if nav_name in collections and isinstance(value, list):
                out.collection_binds.append((nav_name, [resolve_reference(env, req, v) for v in value]))
                continue
            nav = singles.get(nav_name)
            if nav is None:
                raise ApiError(400, "0x80060888", f"An undeclared property '{nav_name}' which only has property "
                               "annotations in the payload but no property value was found in the payload. In "
                               "OData, only declared navigation properties and declared named streams can be "
                               "represented as properties without values.")
            col = st.column(nav.column)
            if col is None or not (col.valid_for_create if creating else col.valid_for_update):
                continue
            if value is None:
                out.values[nav.column] = None
                out.values[nav.column + "__lt"] = None
                continue
            target, target_id = resolve_reference(env, req, value)
            if target not in nav.targets:
                raise ApiError(400, "0x80060888", f"The entity reference to '{target}' is not valid for the "
                               f"navigation property '{nav_name}' of '{st.name}'.")
            out.values[nav.column] = target_id
            out.values[nav.column + "__lt"] = target
            continue
        if "@" in key:
            continue  # instance annotations such as @odata.etag or @OData.Community... are ignored
        if re.fullmatch(r"_\w+_value", key):
            raise ApiError(400, "0x80060888", "CRM do not support direct update of Entity Reference properties, "
                           "Use Navigation properties instead.")
        col = st.column(key)
        if col is None:
            raise ApiError(400, "0x80060888", f"The property '{key}' does not exist on type "
                           f"'Microsoft.Dynamics.CRM.{st.name}'. Make sure to only use property names that are "
                           "defined by the type.")
        if col.is_primary_id:
            if value is not None:
                out.row_id = convert_value(st, col, value)
            continue
        if col.is_lookup:
            if value is not None:
                raise ApiError(400, "0x80060888", f"Set the lookup '{key}' with '{key}@odata.bind'.")
            out.values[col.name] = None
            out.values[col.name + "__lt"] = None
            continue
        if not (col.valid_for_create if creating else col.valid_for_update):
            continue  # read-only columns such as createdon are ignored, as by the service
        out.values[col.name] = convert_value(st, col, value)
    return out


def _status_states(table: str) -> dict[int, int]:
    try:
        from seeder.metadata.crm import crm_status_states
    except ImportError:  # pragma: no cover
        return {}
    return crm_status_states(table)


def apply_state(st: StoredTable, values: dict[str, Any], current: dict[str, Any] | None) -> None:
    """Fill in the statuscode/statecode a write implies and reject pairs that do not belong together."""
    if st.column("statecode") is None:
        return
    states = _status_states(st.name)

    def default_status(state: int) -> int:
        for status, owner in states.items():
            if owner == state:
                return status
        return state + 1  # Dataverse's convention for tables without known metadata: Active 1, Inactive 2

    if current is None and "statecode" not in values:
        values["statecode"] = 0
    if "statecode" in values and "statuscode" not in values:
        values["statuscode"] = default_status(int(values["statecode"]))
    elif "statuscode" in values and "statecode" not in values and values["statuscode"] is not None:
        state = states.get(int(values["statuscode"]))
        if state is not None:
            values["statecode"] = state
    status, state = values.get("statuscode"), values.get("statecode")
    if states and status is not None and state is not None and states.get(int(status)) != int(state):
        # No documented code; SDK fault text for an invalid pair, status 400.
        raise ApiError(400, "0x80040203", f"{status} is not a valid status code for state code "
                       f"{st.name}State.{state} on {st.name}.")


def derive_fullname(st: StoredTable, values: dict[str, Any], current: dict[str, Any] | None) -> None:
    """contact/lead/systemuser ``fullname`` is read-only and composed from first and last name, as on the service."""
    col = st.column("fullname")
    if col is None or col.valid_for_create or st.column("lastname") is None:
        return
    if "firstname" not in values and "lastname" not in values:
        return
    cur = current or {}
    first = values.get("firstname", cur.get("firstname"))
    last = values.get("lastname", cur.get("lastname"))
    values["fullname"] = " ".join(p for p in (first, last) if p) or None


def _check_keys(env: Environment, st: StoredTable, row_id: str, values: dict[str, Any],
                current: dict[str, Any] | None) -> None:
    if not st.table.keys:
        return
    current = current or {}
    for key in st.table.keys:
        merged = {c: values.get(c, current.get(c)) for c in key.columns}
        if any(v is None for v in merged.values()):
            continue
        other = env.store.find_by_key(st.name, merged)
        if other is not None and other != row_id:
            raise duplicate(f"A record that has the attribute values {', '.join(map(str, merged.values()))} "
                            f"already exists. The entity key {key.name} requires that this set of attributes "
                            "contains unique values.")


def create_row(env: Environment, req: Request, st: StoredTable, wb: WriteBody, row_id: str | None = None) -> str:
    """Insert one row (inside the caller's transaction when there is one); returns its id."""
    if st.table.is_intersect:
        raise ApiError(405, "0x80060888", f"The entity '{st.name}' is an intersect entity and is read-only; "
                       "associate rows through the $ref of the N:N navigation property.")
    rid = (wb.row_id or row_id or str(uuid.uuid4())).lower()
    with env.store.transaction():
        if env.store.exists(st.name, rid):
            raise duplicate("Cannot insert duplicate key.")
        values = dict(wb.values)
        now, user = now_text(), env.user_id(req.user)
        for name in ("createdon", "modifiedon"):
            if st.column(name) is not None:
                values[name] = now
        if st.column("overriddencreatedon") is not None and values.get("overriddencreatedon"):
            values["createdon"] = values["overriddencreatedon"]
        for name in ("createdby", "modifiedby") + (("ownerid",) if "ownerid" not in values else ()):
            col = st.column(name)
            if col is not None and col.is_lookup and "systemuser" in col.targets:
                values[name], values[name + "__lt"] = user, "systemuser"
        apply_state(st, values, None)
        check_flow_activation(env, st, values, None)
        derive_fullname(st, values, None)
        _check_keys(env, st, rid, values, None)
        values[st.primary_id] = rid
        env.store.insert(st.name, values)
        for nav, refs in wb.collection_binds:
            for _table, other_id in refs:
                associate(env, st, rid, nav, other_id)
    return rid


def update_row(env: Environment, req: Request, st: StoredTable, row_id: str, wb: WriteBody) -> None:
    if st.table.is_intersect:
        raise ApiError(405, "0x80060888", f"The entity '{st.name}' is an intersect entity and is read-only.")
    with env.store.transaction():
        current = env.store.get(st.name, row_id)
        if current is None:
            raise not_found(st.name, row_id)
        values = dict(wb.values)
        for name, value in (("modifiedon", now_text()), ("modifiedby", env.user_id(req.user))):
            col = st.column(name)
            if col is not None:
                values[name] = value
                if col.is_lookup:
                    values[name + "__lt"] = "systemuser"
        apply_state(st, values, current)
        check_flow_activation(env, st, values, current)
        derive_fullname(st, values, current)
        _check_keys(env, st, row_id, values, current)
        env.store.update(st.name, row_id, values)
        for nav, refs in wb.collection_binds:
            for _table, other_id in refs:
                associate(env, st, row_id, nav, other_id)


def associate(env: Environment, st: StoredTable, row_id: str, nav_name: str, other_id: str) -> None:
    """Link ``other_id`` through the collection-valued ``nav_name`` (N:N intersect row or 1:N child lookup)."""
    coll = env.navs.collection.get(st.name, {}).get(nav_name)
    if coll is None:
        raise ApiError(400, "0x80060888", f"Could not find a property named '{nav_name}' on type "
                       f"'Microsoft.Dynamics.CRM.{st.name}'.")
    if coll.relationship is None:
        child = env.store.tables[coll.other]
        env.store.update(child.name, other_id, {coll.column: row_id, coll.column + "__lt": st.name})
        return
    rel = coll.relationship
    mine, theirs = (rel.column1, rel.column2) if coll.self_side == 1 else (rel.column2, rel.column1)
    inter = env.store.tables[rel.intersect_table]
    with env.store.transaction():
        existing = env.store.find_by_key(inter.name, {mine: row_id, theirs: other_id})
        if existing is not None:
            raise duplicate("Cannot insert duplicate key.")
        env.store.insert(inter.name, {inter.primary_id: str(uuid.uuid4()), mine: row_id, theirs: other_id})


def _etag_check(req: Request, st: StoredTable, row: dict[str, Any] | None) -> None:
    match = req.headers.get("if-match")
    if match and match != "*" and row is not None and match != f'W/"{row["__v"]}"':
        raise ApiError(412, "0x80060882",
                       "The version of the existing record doesn't match the RowVersion property provided.")


def entity_url(req: Request, st: StoredTable, row_id: str) -> str:
    return f"{req.base}{st.table.entity_set}({row_id})"


def _written(env: Environment, req: Request, st: StoredTable, row_id: str, status: int,
             location: str) -> Response:
    if req.prefer.return_representation:
        row = env.store.get(st.name, row_id)
        assert row is not None
        select = parse_select(st, req.query.get("$select"))
        record = render_rows(env, req, st, [row], select, [])[0]
        sel = f"({','.join(select)})" if select else ""
        body = {"@odata.context": f"{req.base}$metadata#{st.table.entity_set}{sel}/$entity", **record}
        return json_response(status, body, [("ETag", record["@odata.etag"]),
                                            ("Preference-Applied", "return=representation")], records_written=1)
    return Response(204, [("OData-EntityId", location)], records_written=1)


def post_collection(env: Environment, req: Request, st: StoredTable) -> Response:
    wb = convert_body(env, req, st, req.json(), creating=True)
    row_id = create_row(env, req, st, wb)
    return _written(env, req, st, row_id, 201, entity_url(req, st, row_id))


def patch_record(env: Environment, req: Request, st: StoredTable, seg: Segment) -> Response:
    with env.store.transaction():
        row_id, key_values = env.resolve(st, seg.key or "")
        row = env.store.get(st.name, row_id) if row_id else None
        if req.headers.get("if-none-match") == "*" and row is not None:
            raise duplicate()
        if req.headers.get("if-match") and row is None:
            raise not_found(st.name, seg.key or "")
        _etag_check(req, st, row)
        if row is not None and row_id is not None:
            wb = convert_body(env, req, st, req.json(), creating=False)
            update_row(env, req, st, row_id, wb)
            status = 200
        else:
            wb = convert_body(env, req, st, req.json(), creating=True)
            if key_values is not None:
                for name, value in key_values.items():
                    wb.values.setdefault(name, value)  # body values win over the URL key (docs §5.4)
            row_id = create_row(env, req, st, wb, row_id=None if key_values is not None else seg.key)
            status = 201
    location = f"{req.base}{st.table.entity_set}({seg.key})" if key_values is not None else entity_url(req, st, row_id)
    return _written(env, req, st, row_id, status, location)


def delete_record(env: Environment, req: Request, st: StoredTable, seg: Segment) -> Response:
    if st.table.is_intersect:
        raise ApiError(405, "0x80060888", f"The entity '{st.name}' is an intersect entity and is read-only.")
    with env.store.transaction():
        row_id, _ = env.resolve(st, seg.key or "")
        row = env.store.get(st.name, row_id) if row_id else None
        if row is None or row_id is None:
            raise not_found(st.name, seg.key or "")
        _etag_check(req, st, row)
        env.store.delete(st.name, row_id)
        _remove_links(env, st, row_id)
    return Response(204, records_written=1)


def _remove_links(env: Environment, st: StoredTable, row_id: str) -> None:
    """Links to a deleted row: intersect rows go, referencing lookups are cleared (RemoveLink)."""
    for rel in env.schema.many_to_many:
        inter = env.store.tables.get(rel.intersect_table)
        if inter is None:
            continue
        for side, table in ((rel.column1, rel.table1), (rel.column2, rel.table2)):
            if table == st.name:
                for r in env.store.query(f'SELECT "{inter.primary_id}" AS i FROM "{inter.sql_name}" '  # noqa: S608 - identifiers are validated schema names
                                         f'WHERE "{side}" = ?', [row_id]):
                    env.store.delete(inter.name, str(r["i"]))
    for coll in env.navs.collection.get(st.name, {}).values():
        if coll.relationship is None:
            child = env.store.tables[coll.other]
            for r in env.store.query(f'SELECT "{child.primary_id}" AS i FROM "{child.sql_name}" '  # noqa: S608 - identifiers are validated schema names
                                     f'WHERE "{coll.column}" = ? AND "{coll.column}__lt" = ?', [row_id, st.name]):
                env.store.update(child.name, str(r["i"]), {coll.column: None, coll.column + "__lt": None})


def put_property(env: Environment, req: Request, st: StoredTable, seg: Segment, prop: str) -> Response:
    """``PUT accounts(<id>)/name`` with ``{"value": ...}``; ``DELETE`` of a property clears it."""
    row_id, _ = env.resolve(st, seg.key or "")
    if row_id is None:
        raise not_found(st.name, seg.key or "")
    value = req.json().get("value") if req.method == "PUT" else None
    wb = convert_body(env, req, st, {prop: value}, creating=False)
    update_row(env, req, st, row_id, wb)
    return Response(204, records_written=1)
