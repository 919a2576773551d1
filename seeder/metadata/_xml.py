"""Hardened XML parsing and safe zip reading for the schema readers.

XML is parsed with entity resolution, DTD loading and network access off; a UTF-8 byte-order mark is
accepted. Zip members are checked for path traversal and size before they are read. lxml and zipfile
errors surface as :class:`seeder.errors.UsageError` naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from lxml import etree

from seeder.errors import UsageError

__all__ = ["MAX_MEMBER_BYTES", "child_text", "parse_xml", "read_xml_file", "safe_zip_members", "zip_member"]

MAX_MEMBER_BYTES = 256 * 1024 * 1024
"""Largest uncompressed zip member read (a customizations.xml of a very large solution is ~100 MB)."""

_BOM = b"\xef\xbb\xbf"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True)


def parse_xml(data: bytes, source: str) -> etree._Element:
    """The root element of ``data``; ``UsageError`` naming ``source`` when it is not well-formed XML."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    try:
        return etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise UsageError(f"{source} is not well-formed XML: {exc}", hint="check the file is not truncated",
                         path=source) from None


def read_xml_file(path: Path) -> etree._Element:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", path=str(path)) from None
    return parse_xml(data, str(path))


def child_text(element: etree._Element, path: str, default: str = "") -> str:
    """Stripped text of the first match of ``path`` under ``element`` (``default`` when absent or empty)."""
    found = element.find(path)
    if found is None or found.text is None:
        return default
    text = found.text.strip()
    return text or default


def safe_zip_members(archive: zipfile.ZipFile, source: str) -> dict[str, zipfile.ZipInfo]:
    """Members by normalised name, refusing traversal, absolute paths and oversized entries."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        pure = PurePosixPath(name)
        if name.startswith("/") or ".." in pure.parts or (pure.parts and pure.parts[0].endswith(":")):
            raise UsageError(f"{source} holds an unsafe entry {info.filename!r}", hint="refusing path traversal",
                             path=source)
        if info.file_size > MAX_MEMBER_BYTES:
            raise UsageError(f"{source}: entry {info.filename!r} is {info.file_size} bytes, over the limit",
                             path=source)
        if not info.is_dir():
            members[name] = info
    return members


def zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> bytes:
    """The bytes of one member, read with a hard cap in case the header lies about the size."""
    try:
        with archive.open(info) as handle:
            data = handle.read(MAX_MEMBER_BYTES + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise UsageError(f"{source}: cannot read {info.filename!r}: {exc}", path=source) from None
    if len(data) > MAX_MEMBER_BYTES:
        raise UsageError(f"{source}: entry {info.filename!r} is over the size limit", path=source)
    return data


def open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{path} is not a readable zip file: {exc}", path=str(path)) from None
