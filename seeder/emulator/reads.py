"""Reading rows: collections (``$select $filter $orderby $top $count $expand``, paging), single rows, ``/$count``
and change tracking (``Prefer: odata.track-changes``, ``$deltatoken``, ``$deletedEntity``).

Paging follows dataverse-protocol.md §3.2: ``Prefer: odata.maxpagesize`` (capped at 5,000), an
``@odata.nextLink`` whose ``$skiptoken`` is a paging cookie, and keyset continuation so that rows written
between pages are neither skipped nor repeated.
"""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from seeder.errors import UsageError
from seeder.odata import parse_filter

from .env import Environment
from .errors import ApiError, bad_property, bad_syntax, not_found
from .http import Request, Response, Segment, json_response
from .query import Query, compile_filter, decode_skiptoken, encode_skiptoken, parse_orderby, resolve_column
from .shape import Annotations, to_record
from .store import StoredTable

__all__ = ["count_records", "get_record", "list_records", "render_rows"]

MAX_PAGE = 5000
_UNSUPPORTED = ("$skip", "$search", "$format")
_TRACKING_FORBIDDEN = ("$filter", "$orderby", "$expand", "$top")


def parse_select(st: StoredTable, text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [s.strip() for s in text.split(",") if s.strip()]
    for name in names:
        resolve_column(st, name)
    return names


def parse_expand(text: str | None) -> list[tuple[str, dict[str, str]]]:
    """``a($select=x,y;$filter=..),b`` → [(nav, {option: value})]."""
    out: list[tuple[str, dict[str, str]]] = []
    if not text:
        return out
    depth, buf, parts = 0, "", []
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    for part in parts:
        part = part.strip()
        m = re.fullmatch(r"(\w+)(?:\((.*)\))?", part, re.S)
        if not m:
            raise bad_syntax(f"The $expand term '{part}' is not valid.")
        options: dict[str, str] = {}
        for opt in (m.group(2) or "").split(";"):
            if opt.strip():
                key, _, value = opt.partition("=")
                options[key.strip()] = value.strip()
        out.append((m.group(1), options))
    return out


def _primary_names(env: Environment, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    by_table: dict[str, list[str]] = {}
    for table, row_id in pairs:
        by_table.setdefault(table, []).append(row_id)
    names: dict[tuple[str, str], str] = {}
    for table, ids in by_table.items():
        st = env.store.tables.get(table)
        if st is None or not st.table.primary_name:
            continue
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows = env.store.query(
                f'SELECT "{st.primary_id}" AS i, "{st.table.primary_name}" AS n FROM "{st.sql_name}" '  # noqa: S608 - identifiers are validated schema names
                f'WHERE "{st.primary_id}" IN ({", ".join("?" for _ in chunk)})', chunk)
            for r in rows:
                if r["n"] is not None:
                    names[(table, str(r["i"]))] = str(r["n"])
    return names


def render_rows(env: Environment, req: Request, st: StoredTable, rows: list[dict[str, Any]],
                select: list[str] | None, expand: list[tuple[str, dict[str, str]]]) -> list[dict[str, Any]]:
    """Stored rows → Web API records, with requested annotations and expanded lookups."""
    annotations = Annotations.parse(req.prefer.include_annotations)
    names = None
    if annotations.wants("OData.Community.Display.V1.FormattedValue"):
        pairs = {(str(r[c.name + "__lt"]), str(r[c.name])) for r in rows for c in st.columns
                 if c.is_lookup and r.get(c.name) and r.get(c.name + "__lt")}
        names = _primary_names(env, pairs)
    out = [to_record(st.table, st.columns, row, select, annotations, env.navs, names) for row in rows]
    for nav_name, options in expand:
        single = env.navs.single.get(st.name, {}).get(nav_name)
        coll = env.navs.collection.get(st.name, {}).get(nav_name)
        if single is None and coll is None:
            raise ApiError(400, "0x80060888", f"Could not find a property named '{nav_name}' on type "
                           f"'Microsoft.Dynamics.CRM.{st.name}'.")
        for row, record in zip(rows, out, strict=True):
            if single is not None:
                target_id, target = row.get(single.column), row.get(single.column + "__lt")
                record[nav_name] = None
                if target_id and target in single.targets and str(target) in env.store.tables:
                    tst = env.store.tables[str(target)]
                    sub = env.store.get(tst.name, str(target_id))
                    if sub is not None:
                        record[nav_name] = render_rows(env, req, tst, [sub], parse_select(tst, options.get("$select")),
                                                       parse_expand(options.get("$expand")))[0]
            elif coll is not None:
                record[nav_name] = _expand_collection(env, req, st, row, coll, options)
    return out


def _expand_collection(env: Environment, req: Request, st: StoredTable, row: dict[str, Any],
                       coll: Any, options: dict[str, str]) -> list[dict[str, Any]]:
    other = env.store.tables[coll.other]
    my_id = row[st.primary_id]
    if coll.relationship is not None:
        rel = coll.relationship
        mine, theirs = (rel.column1, rel.column2) if coll.self_side == 1 else (rel.column2, rel.column1)
        inter = env.store.tables[rel.intersect_table]
        join = f'"{inter.sql_name}" i ON i."{theirs}" = t."{other.primary_id}"'
        sql = (f'SELECT t.* FROM "{other.sql_name}" t JOIN {join} '  # noqa: S608 - validated schema names
               f'WHERE i."{mine}" = ? ORDER BY t."{other.primary_id}" LIMIT {MAX_PAGE}')
    else:
        sql = (f'SELECT * FROM "{other.sql_name}" WHERE "{coll.column}" = ? '  # noqa: S608 - identifiers are validated schema names
               f'ORDER BY "{other.primary_id}" LIMIT {MAX_PAGE}')
    rows = env.store.query(sql, [my_id])
    return render_rows(env, req, other, rows, parse_select(other, options.get("$select")), [])


def _context(req: Request, st: StoredTable, select: list[str] | None, suffix: str = "") -> str:
    sel = f"({','.join(select)})" if select else ""
    return f"{req.base}$metadata#{st.table.entity_set}{sel}{suffix}"


def _check_options(req: Request) -> None:
    for name in _UNSUPPORTED:
        if name in req.query:
            raise ApiError(400, "0x80060888", f"The query parameter {name} is not supported")
    if "$apply" in req.query:
        raise ApiError(501, "0x80060888", "The emulator does not implement $apply aggregation.")


def _filter_query(st: StoredTable, req: Request) -> Query:
    where: list[str] = []
    params: list[Any] = []
    text = req.query.get("$filter")
    if text:
        aliases = {k: v for k, v in req.query.items() if k.startswith("@")}
        try:
            node = parse_filter(text, aliases)
        except UsageError as exc:
            raise ApiError(400, "0x80060888", exc.message) from None
        sql, params = compile_filter(st, node)
        where.append(sql)
    return Query(st, where, params, parse_orderby(st, req.query.get("$orderby")))


def list_records(env: Environment, req: Request, st: StoredTable) -> Response:
    _check_options(req)
    if "fetchXml" in req.query:
        from .fetch import fetch_records

        return fetch_records(env, req, st)
    prefer = req.prefer
    tracking = prefer.track_changes or "$deltatoken" in req.query
    if tracking:
        for name in _TRACKING_FORBIDDEN:
            if name in req.query:
                raise ApiError(400, "0x80060888",
                               f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.')
        if not st.table.change_tracking:
            raise ApiError(400, "0x80060888", f"Change tracking is not enabled for the entity '{st.name}'.")
    if "$deltatoken" in req.query:
        return _delta(env, req, st)
    select = parse_select(st, req.query.get("$select"))
    expand = parse_expand(req.query.get("$expand"))
    query = _filter_query(st, req)
    headers: list[tuple[str, str]] = []
    page = MAX_PAGE
    paged = True
    if prefer.maxpagesize is not None:
        if prefer.maxpagesize <= 0:
            raise bad_syntax("odata.maxpagesize must be a positive number.")
        page = min(prefer.maxpagesize, MAX_PAGE)
        headers.append(("Preference-Applied", f"odata.maxpagesize={page}"))
    elif "$top" in req.query:
        try:
            page = min(int(req.query["$top"]), MAX_PAGE)
        except ValueError:
            raise bad_syntax(f"The $top value '{req.query['$top']}' is not valid.") from None
        paged = False
    after = None
    page_no = 1
    snapshot: int | None = None
    if "$skiptoken" in req.query:
        page_no, after, snapshot = decode_skiptoken(req.query["$skiptoken"])
    if tracking and snapshot is None:
        snapshot = env.store.version
    with env.store.lock:
        if tracking and snapshot is None:
            snapshot = env.store.version
        sql, params = query.sql(page + 1, after)
        rows = env.store.query(sql, params)
        total = None
        if req.query.get("$count") == "true":
            csql, cparams = query.count_sql()
            total = int(env.store.scalar(csql, cparams))
    more = paged and len(rows) > page
    rows = rows[:page]
    body: dict[str, Any] = {"@odata.context": _context(req, st, select)}
    annotations = Annotations.parse(prefer.include_annotations)
    if prefer.include_annotations:
        headers.append(("Preference-Applied", annotations.header))
    if total is not None:
        body["@odata.count"] = min(total, MAX_PAGE)
        if annotations.wants("Microsoft.Dynamics.CRM.totalrecordcount"):
            body["@Microsoft.Dynamics.CRM.totalrecordcount"] = min(total, MAX_PAGE)
            body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = total > MAX_PAGE
    body["value"] = render_rows(env, req, st, rows, select, expand)
    if more:
        token = encode_skiptoken(st.primary_id, page_no, query.position(rows[-1]),
                                 str(rows[0][st.primary_id]), snapshot if tracking else None)
        keep = [(k, v) for k, v in req.query.items() if k != "$skiptoken"]
        body["@odata.nextLink"] = _link(req, st, [*keep, ("$skiptoken", token)])
    elif tracking:
        headers.append(("Preference-Applied", "odata.track-changes"))
        body["@odata.deltaLink"] = _delta_link(req, st, snapshot or env.store.version)
    return json_response(200, body, headers, records_read=len(rows))


def _link(req: Request, st: StoredTable, params: list[tuple[str, str]]) -> str:
    query = "&".join(f"{k}={urllib.parse.quote(v, safe=',()=/')}" for k, v in params)
    return f"{req.base}{st.table.entity_set}?{query}"


def _delta_link(req: Request, st: StoredTable, version: int) -> str:
    stamp = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
    keep = [(k, v) for k, v in req.query.items() if k == "$select"]
    return _link(req, st, [*keep, ("$deltatoken", f"{version}!{stamp}")])


def _delta(env: Environment, req: Request, st: StoredTable) -> Response:
    token = req.query["$deltatoken"]
    m = re.match(r"(\d+)(?:!|$)", token)
    if not m:
        raise ApiError(400, "0x80060888", "The $deltatoken is not valid.")
    since = int(m.group(1))
    select = parse_select(st, req.query.get("$select"))
    with env.store.lock:
        upto = env.store.version
        rows = env.store.query(
            f'SELECT * FROM "{st.sql_name}" WHERE __v > ? AND __v <= ? ORDER BY __v', [since, upto])  # noqa: S608 - identifiers are validated schema names
        deleted = env.store.deleted_since(st.name, since, upto)
    value: list[dict[str, Any]] = render_rows(env, req, st, rows, select, [])
    for row_id in deleted:
        value.append({"@odata.context": f"{req.base}$metadata#{st.table.entity_set}/$deletedEntity",
                      "id": row_id, "reason": "deleted"})
    body = {"@odata.context": _context(req, st, select, "/$delta"),
            "@odata.deltaLink": _delta_link(req, st, upto), "value": value}
    return json_response(200, body, records_read=len(rows))


def get_record(env: Environment, req: Request, st: StoredTable, seg: Segment) -> Response:
    _check_options(req)
    row_id, _ = env.resolve(st, seg.key or "")
    if row_id is None:
        if seg.key and "=" in seg.key:
            raise ApiError(404, "0x80060891",
                           f"A record with the specified key values does not exist in {st.name} entity")
        raise not_found(st.name, seg.key or "")
    row = env.store.get(st.name, row_id)
    if row is None:
        raise not_found(st.name, row_id)
    etag = f'W/"{row["__v"]}"'
    select = parse_select(st, req.query.get("$select"))
    expand = parse_expand(req.query.get("$expand"))
    if req.headers.get("if-none-match") == etag and not expand and not req.prefer.include_annotations:
        return Response(304, [("ETag", etag)])
    record = render_rows(env, req, st, [row], select, expand)[0]
    body = {"@odata.context": _context(req, st, select, "/$entity"), **record}
    headers = [("ETag", etag)]
    if req.prefer.include_annotations:
        headers.append(("Preference-Applied", Annotations.parse(req.prefer.include_annotations).header))
    return json_response(200, body, headers, records_read=1)


def get_property(env: Environment, req: Request, st: StoredTable, seg: Segment, prop: str) -> Response:
    """``GET accounts(<id>)/name`` → ``{"value": ...}``."""
    row_id, _ = env.resolve(st, seg.key or "")
    row = env.store.get(st.name, row_id) if row_id else None
    if row is None:
        raise not_found(st.name, seg.key or "")
    col = st.column(prop)
    if col is None or col.is_lookup:
        raise bad_property(prop, st.name)
    record = to_record(st.table, (col,), row, [prop], Annotations(), env.navs)
    return json_response(200, {"@odata.context": f"{req.base}$metadata#{st.table.entity_set}({row_id})/{prop}",
                               "value": record.get(prop)}, records_read=1)


def count_records(env: Environment, req: Request, st: StoredTable) -> Response:
    """``GET accounts/$count`` → plain-text count (capped at 5,000 like ``$count=true``)."""
    query = _filter_query(st, req)
    sql, params = query.count_sql()
    total = int(env.store.scalar(sql, params))
    return Response(200, [("Content-Type", "text/plain")], str(min(total, MAX_PAGE)).encode())
