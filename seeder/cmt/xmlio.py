"""Hardened XML parsing for CMT packages: no entities, no DTD, no network; errors become ``UsageError``.

A UTF-8 (or UTF-16) byte-order mark at the start of a file is accepted, as CMT writes one on ``data.xml``
and ``[Content_Types].xml`` but not on ``data_schema.xml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from lxml import etree

from seeder.errors import UsageError

__all__ = ["iterparse", "parse_bytes", "safe_parser"]


def safe_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, loads a DTD or touches the network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )


def parse_bytes(data: bytes, *, what: str) -> etree._Element:
    """Parse a whole (small) XML document; ``what`` names it in the error."""
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise UsageError(f"{what} is not well-formed XML: {exc}", hint="check the package file") from None
    if root is None:
        raise UsageError(f"{what} is empty")
    return root


def iterparse(stream: IO[bytes], *, what: str, tags: tuple[str, ...]) -> Iterator[tuple[str, etree._Element]]:
    """Stream ``(event, element)`` pairs for ``tags`` (start and end events) with the hardened settings."""
    events = etree.iterparse(
        stream,
        events=("start", "end"),
        tag=tags,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    try:
        yield from events
    except etree.XMLSyntaxError as exc:
        raise UsageError(f"{what} is not well-formed XML: {exc}", hint="check the package file") from None
