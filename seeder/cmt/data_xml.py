"""``data.xml``: streaming reader and writer of CMT records and N:N links, in document order.

``<entities timestamp>`` → ``<entity name displayname>`` → ``<records><record id><field name value
[lookupentity] [lookupentityname]/>...</record></records>`` and ``<m2mrelationships><m2mrelationship
sourceid targetentityname targetentitynameidfield m2mrelationshipname><targetids><targetid>``. A
party-list field holds nested ``<activitypointerrecords>`` instead of a value; the reader flags it.

Reading uses ``iterparse`` and clears each record once it is yielded, so memory stays flat however large
the file is. Writing streams through ``lxml.etree.xmlfile``. Values are passed through untouched: the
HTML layer of strings and every type conversion live in :mod:`seeder.cmt.values`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

from lxml import etree

from seeder.cmt.xmlio import iterparse
from seeder.errors import UsageError

__all__ = [
    "CmtDataField",
    "CmtEntityStart",
    "CmtLinks",
    "CmtRecord",
    "DataXmlWriter",
    "iter_data",
    "read_timestamp",
]

_XSD = "http://www.w3.org/2001/XMLSchema"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class CmtDataField:
    name: str
    value: str | None
    lookup_entity: str | None = None
    lookup_name: str | None = None
    has_parties: bool = False


@dataclass(frozen=True)
class CmtRecord:
    id: str
    fields: tuple[CmtDataField, ...]


@dataclass(frozen=True)
class CmtLinks:
    """One ``<m2mrelationship>``: a source record linked to target records through a relationship."""

    relationship: str
    source_id: str
    target_entity: str
    target_id_field: str
    target_ids: tuple[str, ...]


@dataclass(frozen=True)
class CmtEntityStart:
    name: str
    display_name: str


DataItem = CmtEntityStart | CmtRecord | CmtLinks


def iter_data(stream: IO[bytes]) -> Iterator[tuple[str, DataItem]]:
    """``(entity name, item)`` in document order: a :class:`CmtEntityStart` first, then records and links."""
    current = ""
    depth_record = 0
    seen_root = False
    for event, el in iterparse(stream, what="data.xml", tags=("entities", "entity", "record", "m2mrelationship")):
        tag = el.tag
        if not seen_root:
            if tag != "entities" or el.getparent() is not None:
                raise UsageError("data.xml does not start with <entities>", hint="is this a CMT data file?")
            seen_root = True
        if event == "start":
            if tag == "entity" and depth_record == 0:
                current = el.get("name") or ""
                if not current:
                    raise UsageError("data.xml has an <entity> without a name")
                yield current, CmtEntityStart(current, el.get("displayname", ""))
            elif tag == "record":
                depth_record += 1
            continue
        if tag == "record":
            depth_record -= 1
            if depth_record == 0:
                yield current, _record(el)
                _release(el)
        elif tag == "m2mrelationship":
            yield current, CmtLinks(
                relationship=el.get("m2mrelationshipname", ""),
                source_id=el.get("sourceid", ""),
                target_entity=el.get("targetentityname", ""),
                target_id_field=el.get("targetentitynameidfield", ""),
                target_ids=tuple((t.text or "").strip() for t in el.iterfind("targetids/targetid")),
            )
            _release(el)
        elif tag == "entity" and depth_record == 0:
            _release(el)
    if not seen_root:
        raise UsageError("data.xml does not start with <entities>", hint="is this a CMT data file?")


def read_timestamp(stream: IO[bytes]) -> str | None:
    """The ``timestamp`` attribute of the ``<entities>`` root (when CMT exported the data), read lazily."""
    for _, el in iterparse(stream, what="data.xml", tags=("entities",)):
        return el.get("timestamp")
    return None


def _record(el: Any) -> CmtRecord:
    record_id = el.get("id")
    if not record_id:
        raise UsageError("data.xml has a <record> without an id")
    fields = []
    for f in el.iterchildren("field"):
        fields.append(
            CmtDataField(
                name=f.get("name", ""),
                value=f.get("value"),
                lookup_entity=f.get("lookupentity"),
                lookup_name=f.get("lookupentityname"),
                has_parties=f.find("activitypointerrecords") is not None
                or f.find("activitypointerrecord") is not None,
            )
        )
    return CmtRecord(id=record_id, fields=tuple(fields))


def _release(el: Any) -> None:
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


class DataXmlWriter:
    """Stream ``data.xml`` to a binary file object (UTF-8 with a BOM, as CMT writes it).

    Call :meth:`begin_entity`, then :meth:`write_record` for each record and :meth:`write_links` for each
    N:N link set, then :meth:`end_entity`; :meth:`close` (or leaving the ``with``) ends the document.
    """

    def __init__(self, stream: IO[bytes], *, timestamp: str) -> None:
        stream.write(b"\xef\xbb\xbf")
        self._stream = stream
        self._stack = ExitStack()
        self._xf = self._stack.enter_context(etree.xmlfile(stream, encoding="utf-8"))
        self._xf.write_declaration()
        self._stack.enter_context(
            self._xf.element("entities", {"timestamp": timestamp}, nsmap={"xsd": _XSD, "xsi": _XSI})
        )
        self._entity: ExitStack | None = None
        self._section: ExitStack | None = None
        self._section_name = ""

    def begin_entity(self, name: str, display_name: str) -> None:
        if self._entity is not None:
            self.end_entity()
        self._entity = ExitStack()
        self._xf.write("\n  ")
        self._entity.enter_context(self._xf.element("entity", {"name": name, "displayname": display_name}))
        self._section_name = ""

    def _enter(self, section: str) -> None:
        if self._section_name == section:
            return
        if self._entity is None:
            raise RuntimeError("begin_entity() first")
        if self._section is not None:
            self._xf.write("\n    ")
            self._section.close()
        elif section == "m2mrelationships":
            self._xf.write("\n    ")
            with self._xf.element("records"):
                pass
        self._section = ExitStack()
        self._xf.write("\n    ")
        self._section.enter_context(self._xf.element(section))
        self._section_name = section

    def write_record(self, record: CmtRecord) -> None:
        if self._section_name == "m2mrelationships":
            raise RuntimeError("records must come before the N:N links of an entity")
        self._enter("records")
        el = etree.Element("record", {"id": record.id})
        for f in record.fields:
            attrs = {"name": f.name, "value": f.value or ""}
            if f.lookup_entity is not None:
                attrs["lookupentity"] = f.lookup_entity
                attrs["lookupentityname"] = f.lookup_name or ""
            etree.SubElement(el, "field", attrs)
        self._xf.write("\n      ")
        self._xf.write(el)

    def write_links(self, links: CmtLinks) -> None:
        self._enter("m2mrelationships")
        el = etree.Element(
            "m2mrelationship",
            {
                "sourceid": links.source_id,
                "targetentityname": links.target_entity,
                "targetentitynameidfield": links.target_id_field,
                "m2mrelationshipname": links.relationship,
            },
        )
        targets = etree.SubElement(el, "targetids")
        for t in links.target_ids:
            etree.SubElement(targets, "targetid").text = t
        self._xf.write("\n      ")
        self._xf.write(el)

    def end_entity(self) -> None:
        if self._entity is None:
            return
        if self._section_name == "":
            self._enter("records")
        if self._section_name == "records":
            self._enter("m2mrelationships")
        assert self._section is not None
        self._xf.write("\n    ")
        self._section.close()
        self._section = None
        self._section_name = ""
        self._xf.write("\n  ")
        self._entity.close()
        self._entity = None

    def close(self) -> None:
        self.end_entity()
        self._xf.write("\n")
        self._stack.close()
        self._stream.write(b"\n")

    def __enter__(self) -> DataXmlWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
