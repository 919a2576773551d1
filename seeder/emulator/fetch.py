"""Simple FetchXML over the Web API: ``GET {set}?fetchXml=<fetch>...`` (dataverse-protocol.md §3.4).

Supported: one ``<entity>`` with ``<attribute>``/``<all-attributes>``, ``<order>``, nested ``<filter>``
(and/or) of ``<condition>`` (eq ne gt ge lt le like not-like begins-with ends-with null not-null in
not-in), ``top``, ``count`` + ``page`` paging with the ``morerecords`` / ``fetchxmlpagingcookie``
annotations. Link-entities and aggregates answer 501. Results omit null properties, as the service does.
Values are bound parameters; attribute names come from the schema.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from lxml import etree

from .env import Environment
from .errors import ApiError, bad_syntax
from .http import Request, Response, json_response
from .query import OrderBy, Query, _param
from .reads import render_rows
from .shape import Annotations
from .store import StoredTable

__all__ = ["fetch_records"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_OPS = {"eq": "=", "ne": "<>", "neq": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _col_name(st: StoredTable, attr: str) -> str:
    col = st.column(attr)
    if col is None:
        raise ApiError(400, "0x80041103", f"'{st.name}' entity doesn't contain attribute with Name = '{attr}'.")
    return col.name


def _condition(st: StoredTable, el: Any, params: list[Any]) -> str:
    name = _col_name(st, el.get("attribute", ""))
    col = st.column(name)
    assert col is not None
    op = el.get("operator", "eq")
    q = f'"{name}"'
    from seeder.odata import Literal

    def lit(v: str) -> Any:
        return _param(col, Literal(v, "string")) if not col.is_lookup else v.strip("{}").lower()

    if op in _OPS:
        params.append(lit(el.get("value", "")))
        return f"{q} {_OPS[op]} ?"
    if op in ("null", "not-null"):
        return f"{q} IS {'NOT ' if op == 'not-null' else ''}NULL"
    if op in ("like", "not-like", "begins-with", "ends-with"):
        value = el.get("value", "")
        if op == "begins-with":
            value = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        elif op == "ends-with":
            value = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(value)
        return f"{q} {'NOT ' if op == 'not-like' else ''}LIKE ? ESCAPE '\\'"
    if op in ("in", "not-in"):
        values = [v.text or "" for v in el.findall("value")]
        if not values:
            return "0" if op == "in" else "1"
        params.extend(lit(v) for v in values)
        return f"{q} {'NOT ' if op == 'not-in' else ''}IN ({', '.join('?' for _ in values)})"
    raise ApiError(501, "0x80060888", f"The FetchXML condition operator '{op}' is not implemented by the emulator.")


def _filter(st: StoredTable, el: Any, params: list[Any]) -> str:
    joiner = " OR " if el.get("type", "and") == "or" else " AND "
    parts = []
    for child in el:
        if child.tag == "condition":
            parts.append(f"({_condition(st, child, params)})")
        elif child.tag == "filter":
            parts.append(f"({_filter(st, child, params)})")
    return joiner.join(parts) if parts else "1"


def fetch_records(env: Environment, req: Request, st: StoredTable) -> Response:
    text = req.query["fetchXml"]
    try:
        root = etree.fromstring(text.encode(), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise bad_syntax(f"The FetchXML is not valid XML: {exc}") from None
    entity = root.find("entity")
    if root.tag != "fetch" or entity is None:
        raise bad_syntax("FetchXML needs <fetch><entity name='...'>.")
    if entity.get("name") != st.name:
        raise bad_syntax(f"The FetchXML entity '{entity.get('name')}' does not match the entity set "
                         f"'{st.table.entity_set}'.")
    if entity.find("link-entity") is not None or root.get("aggregate") == "true":
        raise ApiError(501, "0x80060888", "The emulator does not implement link-entity or aggregate FetchXML.")
    select: list[str] | None = None
    if entity.find("all-attributes") is None:
        attrs = [_col_name(st, a.get("name", "")) for a in entity.findall("attribute")]
        select = [f"_{a}_value" if (c := st.column(a)) is not None and c.is_lookup else a for a in attrs] or None
    params: list[Any] = []
    where = [_filter(st, f, params) for f in entity.findall("filter")]
    order = [OrderBy(_col_name(st, o.get("attribute", "")), o.get("descending") == "true")
             for o in entity.findall("order")]
    query = Query(st, where, params, order)
    try:
        top = int(str(root.get("top"))) if root.get("top") else None
        count = int(str(root.get("count"))) if root.get("count") else None
        page = int(str(root.get("page", "1")))
    except ValueError:
        raise bad_syntax("FetchXML top, count and page must be numbers.") from None
    size = min(top or count or 5000, 5000)
    sql, sql_params = query.sql(size + 1)
    if count is not None and page > 1:
        sql += f" OFFSET {(page - 1) * size}"
    rows = env.store.query(sql, sql_params)
    more = top is None and len(rows) > size
    rows = rows[:size]
    records = render_rows(env, req, st, rows, select, [])
    value = [{k: v for k, v in r.items() if v is not None} for r in records]
    body: dict[str, Any] = {"@odata.context": f"{req.base}$metadata#{st.table.entity_set}", "value": value}
    annotations = Annotations.parse(req.prefer.include_annotations)
    if annotations.wants("Microsoft.Dynamics.CRM.morerecords"):
        body["@Microsoft.Dynamics.CRM.morerecords"] = more
    if more and annotations.wants("Microsoft.Dynamics.CRM.fetchxmlpagingcookie") and rows:
        inner = (f'<cookie page="{page}"><{st.primary_id} last="{{{str(rows[-1][st.primary_id]).upper()}}}" '
                 f'first="{{{str(rows[0][st.primary_id]).upper()}}}" /></cookie>')
        body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"] = (
            f'<cookie pagenumber="{page + 1}" pagingcookie="{urllib.parse.quote(urllib.parse.quote(inner))}" '
            'istracking="False" />')
    return json_response(200, body, records_read=len(rows))
