"""Metadata endpoints: the service document, ``$metadata`` and ``EntityDefinitions`` with its navigation
segments (``Attributes`` with type casts, ``Keys`` and the three relationship collections).

Addressing follows the service: ``EntityDefinitions(LogicalName='account')`` or ``EntityDefinitions(<id>)``,
``.../Attributes(LogicalName='name')``, ``.../Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata``.
``$select`` always keeps ``MetadataId``; ``$filter`` is evaluated by :func:`seeder.odata.evaluate`.
"""

from __future__ import annotations

import re
from typing import Any

from seeder.errors import UsageError
from seeder.model import Table
from seeder.odata import evaluate, parse_filter

from .env import Environment
from .errors import ApiError, bad_syntax, segment_not_found
from .http import Request, Response, Segment, json_response
from .metadata import attribute_metadata, csdl, entity_metadata, keys_metadata, option_set, relationships
from .reads import parse_expand

__all__ = ["entity_definitions", "metadata_document", "service_document"]

_NAVS = ("Attributes", "Keys", "ManyToOneRelationships", "OneToManyRelationships", "ManyToManyRelationships")


def service_document(env: Environment, req: Request, segs: list[Segment]) -> Response:
    value = [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in env.schema.tables]
    return json_response(200, {"@odata.context": f"{req.base}$metadata", "value": value})


def metadata_document(env: Environment, req: Request, segs: list[Segment]) -> Response:
    return Response(200, [("Content-Type", "application/xml")], csdl(env.schema, env.navs).encode())


def _options(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    text = query.get("$filter")
    if text:
        try:
            node = parse_filter(text, {k: v for k, v in query.items() if k.startswith("@")})
        except UsageError as exc:
            raise ApiError(400, "0x80060888", exc.message) from None
        items = [i for i in items if evaluate(node, i)]
    return [_select(i, query.get("$select")) for i in items]


def _select(item: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return item
    names = [s.strip() for s in select.split(",") if s.strip()]
    out = {k: v for k, v in item.items() if k.startswith("@")}
    for name in names:
        if name not in item:
            raise ApiError(400, "0x0", f"Could not find a property named '{name}' on type "
                           f"'Microsoft.Dynamics.CRM.{str(item.get('@odata.type', '#')).lstrip('#').split('.')[-1]}'.")
        out[name] = item[name]
    out["MetadataId"] = item.get("MetadataId")
    return out


def _find_table(env: Environment, key: str) -> Table:
    m = re.fullmatch(r"\s*LogicalName\s*=\s*'([^']*)'\s*", key)
    if m:
        table = env.schema.get(m.group(1))
    else:
        wanted = key.strip().lower()
        table = next((t for t in env.schema.tables if entity_metadata(t)["MetadataId"] == wanted), None)
    if table is None:
        raise ApiError(404, "0x80040217", f"Could not find entity with key {key}.")
    return table


def _nav_items(env: Environment, table: Table, nav: str) -> list[dict[str, Any]]:
    if nav == "Attributes":
        return [attribute_metadata(table, c) for c in table.columns]
    if nav == "Keys":
        return keys_metadata(table)
    return relationships(env.schema, env.navs, table)[nav]


def _with_expand(env: Environment, table: Table, item: dict[str, Any], expand: str | None) -> dict[str, Any]:
    for nav, opts in parse_expand(expand):
        if nav not in _NAVS:
            raise ApiError(400, "0x0", f"Could not find a property named '{nav}' on type "
                           "'Microsoft.Dynamics.CRM.EntityMetadata'.")
        item[nav] = _options(_nav_items(env, table, nav), opts)
    return item


def entity_definitions(env: Environment, req: Request, segs: list[Segment]) -> Response:
    base = f"{req.base}$metadata#EntityDefinitions"
    head = segs[0]
    if head.key is None:
        if len(segs) > 1:
            raise segment_not_found(segs[1].name)
        items = [entity_metadata(t) for t in env.schema.tables]
        tables = {str(i["MetadataId"]): t for i, t in zip(items, env.schema.tables, strict=True)}
        value = _options(items, req.query)
        if "$expand" in req.query:
            value = [_with_expand(env, tables[str(v["MetadataId"])], v, req.query["$expand"]) for v in value]
        sel = f"({req.query['$select']})" if req.query.get("$select") else ""
        return json_response(200, {"@odata.context": base + sel, "value": value})
    table = _find_table(env, head.key)
    if len(segs) == 1:
        item = _select(entity_metadata(table), req.query.get("$select"))
        item = _with_expand(env, table, item, req.query.get("$expand"))
        return json_response(200, {"@odata.context": f"{base}/$entity", **item})
    nav = segs[1]
    if nav.name not in _NAVS:
        meta = entity_metadata(table)
        if nav.name in meta and nav.key is None:
            if len(segs) == 3 and segs[2].name == "$value":
                return Response(200, [("Content-Type", "text/plain")], str(meta[nav.name]).encode())
            return json_response(200, {"@odata.context": f"{base}({meta['MetadataId']})/{nav.name}",
                                       "value": meta[nav.name]})
        raise segment_not_found(nav.name)
    items = _nav_items(env, table, nav.name)
    context = f"{base}('{table.name}')/{nav.name}"
    if nav.name == "Attributes" and nav.key is not None:
        m = re.fullmatch(r"\s*LogicalName\s*=\s*'([^']*)'\s*", nav.key)
        wanted = m.group(1) if m else nav.key.strip().lower()
        found = [i for i in items if wanted in (i["LogicalName"], i["MetadataId"])]
        if not found:
            raise ApiError(404, "0x80040217", f"Could not find attribute with key {nav.key}.")
        return json_response(200, {"@odata.context": f"{context}/$entity",
                                   **_select(found[0], req.query.get("$select"))})
    if len(segs) == 3:
        cast = segs[2].name
        if nav.name != "Attributes" or not cast.startswith("Microsoft.Dynamics.CRM."):
            raise segment_not_found(cast)
        type_name = cast.removeprefix("Microsoft.Dynamics.CRM.")
        if type_name == "EnumAttributeMetadata":
            raise bad_syntax("Casting to the abstract type EnumAttributeMetadata is not allowed.")
        items = [i for i in items if i["@odata.type"] == f"#{cast}"]
        context += f"/{cast}"
        columns = {c.name: c for c in table.columns}
        for opt_nav, _opts in parse_expand(req.query.get("$expand")):
            if opt_nav not in ("OptionSet", "GlobalOptionSet"):
                raise ApiError(400, "0x0", f"Could not find a property named '{opt_nav}' on type '{cast}'.")
        expand_names = {n for n, _ in parse_expand(req.query.get("$expand"))}
        value = _options(items, req.query)
        for v in value:
            col = columns.get(str(v.get("LogicalName")))
            if col is not None and "OptionSet" in expand_names:
                v["OptionSet"] = option_set(table, col)
            if "GlobalOptionSet" in expand_names:
                v["GlobalOptionSet"] = None
        return json_response(200, {"@odata.context": context, "value": value})
    if len(segs) > 3:
        raise segment_not_found(segs[3].name)
    return json_response(200, {"@odata.context": context, "value": _options(items, req.query)})
