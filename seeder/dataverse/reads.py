"""Streaming reads: OData pages that follow ``@odata.nextLink``, FetchXML paging cookies, change tracking.

Every reader yields one page at a time and drops it before asking for the next, so memory never grows with
the number of rows. Records come back in the Web API's JSON shape with lookup annotations
(``_x_value@Microsoft.Dynamics.CRM.lookuplogicalname``); per-row ``@odata.etag`` values are removed because
they are version stamps, not data.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lxml import etree

from seeder.dataverse.transport import Transport
from seeder.errors import DataverseError, UsageError
from seeder.model import Record

__all__ = ["ANNOTATIONS", "Changes", "iter_fetchxml", "iter_pages", "iter_partitioned", "read_changes"]

ANNOTATIONS = (
    'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname,'
    'Microsoft.Dynamics.CRM.associatednavigationproperty"'
)
_FETCH_ANNOTATIONS = (
    'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname,'
    'Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"'
)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class Changes:
    """One change-tracking read: new or changed rows, ids deleted since the token, and the next token."""

    records: list[Record] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)
    delta_token: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"records": len(self.records), "deleted_ids": sorted(self.deleted_ids),
                "delta_token": self.delta_token}


def _clean(row: Mapping[str, Any]) -> Record:
    return {k: v for k, v in row.items() if k != "@odata.etag"}


def iter_pages(
    transport: Transport, path: str, params: Mapping[str, str] | None, *, page_size: int,
    prefer: str = ANNOTATIONS, what: str = "",
) -> Iterator[dict[str, Any]]:
    """Each response body of a paged collection read, following ``@odata.nextLink`` verbatim."""
    headers = {"Prefer": f"odata.maxpagesize={max(1, min(5000, page_size))},{prefer}"}
    body = transport.json("GET", path, params=params, headers=headers, what=what)
    while True:
        next_link = body.get("@odata.nextLink")
        yield body
        if not next_link:
            return
        body = transport.json("GET", str(next_link), headers=headers, what=what)


def iter_records_paged(transport: Transport, path: str, params: Mapping[str, str] | None, *,
                       page_size: int, what: str = "") -> Iterator[Record]:
    for body in iter_pages(transport, path, params, page_size=page_size, what=what):
        for row in body.get("value", []):
            yield _clean(row)


def _set_paging(fetch: etree._Element, page: int, count: int, cookie: str | None) -> bytes:
    fetch.set("page", str(page))
    fetch.set("count", str(count))
    if cookie is not None:
        fetch.set("paging-cookie", cookie)
    return bytes(etree.tostring(fetch))


def iter_fetchxml(transport: Transport, entity_set: str, fetchxml: str, *, page_size: int,
                  what: str = "") -> Iterator[Record]:
    """Rows of a FetchXML query, paging with the paging cookie (decoded twice, as documented)."""
    try:
        fetch = etree.fromstring(fetchxml.encode(), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise UsageError(f"FetchXML is not well-formed: {exc}") from None
    if fetch.tag != "fetch":
        raise UsageError("FetchXML must have <fetch> as its root element")
    if fetch.get("top"):
        yield from (_clean(r) for r in transport.json(
            "GET", entity_set, params={"fetchXml": fetchxml},
            headers={"Prefer": _FETCH_ANNOTATIONS}, what=what).get("value", []))
        return
    count = max(1, min(5000, int(fetch.get("count") or page_size)))
    page, cookie = 1, None
    while True:
        query = _set_paging(fetch, page, count, cookie).decode()
        body = transport.json("GET", entity_set, params={"fetchXml": query},
                              headers={"Prefer": _FETCH_ANNOTATIONS}, what=what)
        for row in body.get("value", []):
            yield _clean(row)
        if not body.get("@Microsoft.Dynamics.CRM.morerecords"):
            return
        raw_cookie = body.get("@Microsoft.Dynamics.CRM.fetchxmlpagingcookie")
        cookie = None
        if raw_cookie:
            outer = etree.fromstring(str(raw_cookie).encode(), parser=_PARSER)
            inner = outer.get("pagingcookie")
            cookie = unquote(unquote(inner)) if inner else None
        page += 1


def delta_token_of(link: str) -> str:
    """The ``$deltatoken`` value of a deltaLink (opaque; returned decoded)."""
    values = parse_qs(urlsplit(link).query).get("$deltatoken")
    if not values:
        raise DataverseError("the deltaLink has no $deltatoken", status=200, code="bad_delta_link")
    return values[0]


class ChangeStream:
    """Changes since a delta token, streamed page by page: iterate for ``("upsert", record)`` and
    ``("delete", id)`` events; once drained, :attr:`delta_token` holds the token for the next call.
    Nothing is kept in memory, so the first (full) read of a million-row table costs one page."""

    def __init__(self, transport: Transport, entity_set: str, delta_token: str | None, *,
                 select: list[str] | None, page_size: int, what: str = "") -> None:
        self._args = (transport, entity_set, delta_token, select, page_size, what)
        self.delta_token = ""

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        transport, entity_set, delta_token, select, page_size, what = self._args
        params: dict[str, str] = {}
        if select:
            params["$select"] = ",".join(select)
        if delta_token:
            params["$deltatoken"] = delta_token
        prefer = f"odata.track-changes,{ANNOTATIONS}"
        token = ""
        for body in iter_pages(transport, entity_set, params, page_size=page_size, prefer=prefer, what=what):
            for row in body.get("value", []):
                context = str(row.get("@odata.context", ""))
                if context.endswith("$deletedEntity") or row.get("reason") == "deleted":
                    yield "delete", str(row.get("id"))
                else:
                    yield "upsert", _clean(row)
            if body.get("@odata.deltaLink"):
                token = delta_token_of(str(body["@odata.deltaLink"]))
        if not token:
            raise DataverseError(f"{entity_set}: no @odata.deltaLink in the change-tracking response",
                                 status=200, code="no_delta_link",
                                 hint="Enable change tracking on the table (ChangeTrackingEnabled).")
        self.delta_token = token


def read_changes(transport: Transport, entity_set: str, delta_token: str | None, *,
                 select: list[str] | None, page_size: int, what: str = "") -> Changes:
    """Rows changed and ids deleted since ``delta_token`` (all rows on the first call), held in memory."""
    stream = ChangeStream(transport, entity_set, delta_token, select=select, page_size=page_size, what=what)
    records: list[Record] = []
    deleted: list[str] = []
    for kind, item in stream:
        (deleted if kind == "delete" else records).append(item)
    return Changes(records=records, deleted_ids=deleted, delta_token=stream.delta_token)


def partition_bounds(partitions: int) -> list[str]:
    """GUID boundaries splitting the id space into ``partitions`` contiguous ranges.

    SQL Server orders ``uniqueidentifier`` by its last group first, so the boundaries vary only the leading
    digits of the last group; they are sorted under that order and under plain string order alike, so the
    ranges are disjoint, cover every id, and concatenate in id order either way.
    """
    return [f"00000000-0000-0000-0000-{(k * 65536) // partitions:04x}00000000" for k in range(1, partitions)]


_DONE = object()


def iter_partitioned(transport: Transport, entity_set: str, primary_id: str, params: Mapping[str, str], *,
                     partitions: int, page_size: int, what: str = "") -> Iterator[Record]:
    """Rows read by ``partitions`` parallel paged readers over id ranges, yielded in id order.

    Each reader keeps at most two pages queued, so memory stays bounded by ``partitions × 2`` pages.
    """
    bounds: list[str | None] = [None, *partition_bounds(partitions), None]
    stop = threading.Event()
    queues: list[queue.Queue[object]] = [queue.Queue(maxsize=2) for _ in range(partitions)]

    def put(q: queue.Queue[object], item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader(k: int) -> None:
        lo, hi = bounds[k], bounds[k + 1]
        clauses = [f"({params['$filter']})"] if params.get("$filter") else []
        if lo:
            clauses.append(f"{primary_id} ge {lo}")
        if hi:
            clauses.append(f"{primary_id} lt {hi}")
        mine = {**params, **({"$filter": " and ".join(clauses)} if clauses else {})}
        try:
            for body in iter_pages(transport, entity_set, mine, page_size=page_size, what=what):
                if not put(queues[k], [_clean(r) for r in body.get("value", [])]):
                    return
            put(queues[k], _DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(queues[k], exc)

    threads = [threading.Thread(target=reader, args=(k,), daemon=True, name=f"seeder-read-{k}")
               for k in range(partitions)]
    for t in threads:
        t.start()
    try:
        for q in queues:
            while True:
                item = q.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, list)
                yield from item
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
