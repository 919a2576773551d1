"""The CMT package container: a ``.zip`` (or an unpacked folder) holding ``data_schema.xml``, ``data.xml``
and ``[Content_Types].xml``.

Reading checks every zip entry before anything is opened: absolute paths, ``..`` segments, backslashes,
drive letters and NUL bytes are refused (``SafetyError``), as are entries whose declared size is over the
limit or whose compression ratio looks like a zip bomb; bytes actually read are counted as well. Names are
matched case-insensitively at the package root, as Package Deployer does.

Writing produces the three entries with forward-slash names, ``[Content_Types].xml`` first, and streams
``data.xml`` straight into the archive.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from seeder.errors import SafetyError, UsageError

__all__ = [
    "CONTENT_TYPES",
    "DEFAULT_MAX_ENTRY_BYTES",
    "CmtPackageReader",
    "check_entry_name",
    "write_package",
]

DEFAULT_MAX_ENTRY_BYTES = 2 * 1024**3
"""Largest uncompressed entry accepted (2 GiB); CMT itself fails far below this."""
MAX_RATIO = 200
"""Largest uncompressed/compressed ratio accepted for entries over 1 MiB."""

SCHEMA = "data_schema.xml"
DATA = "data.xml"
CONTENT_TYPES_NAME = "[Content_Types].xml"

CONTENT_TYPES = (
    b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    b"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
    b"<Default Extension=\"xml\" ContentType=\"application/octet-stream\" /></Types>"
)
"""``[Content_Types].xml`` exactly as the Configuration Migration Tool writes it."""

_DRIVE = re.compile(r"^[A-Za-z]:")


def check_entry_name(name: str) -> str:
    """The normalised entry name, or ``SafetyError`` when it could escape the extraction folder."""
    if "\x00" in name or "\\" in name or name.startswith("/") or _DRIVE.match(name):
        raise SafetyError(f"package entry {name!r} has an unsafe path", hint="the package may be malicious")
    parts = name.split("/")
    if any(p == ".." for p in parts):
        raise SafetyError(f"package entry {name!r} escapes the package root", hint="the package may be malicious")
    return posixpath.normpath(name)


class _CountingReader:
    """A read-only stream that refuses to deliver more than ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int, name: str) -> None:
        self._raw = raw
        self._left = limit
        self._name = name

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size if size >= 0 else self._left + 1)
        self._left -= len(chunk)
        if self._left < 0:
            raise SafetyError(f"package entry {self._name!r} is larger than the size limit")
        return chunk


class CmtPackageReader:
    """Open a CMT package (``.zip`` or folder) and hand out its entries safely. Use as a context manager."""

    def __init__(self, path: Path, *, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES) -> None:
        self.path = path
        self.max_entry_bytes = max_entry_bytes
        self._zip: zipfile.ZipFile | None = None
        self._entries: dict[str, str] = {}
        if path.is_dir():
            for child in path.iterdir():
                if child.is_file():
                    self._entries[child.name.lower()] = child.name
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise UsageError(f"{path} is not a readable zip: {exc}", hint="pass a CMT data package .zip") from None
            for info in self._zip.infolist():
                name = check_entry_name(info.filename)
                if info.is_dir():
                    continue
                self._check_size(name, info.file_size, info.compress_size)
                if "/" not in name:
                    self._entries[name.lower()] = info.filename
        else:
            raise UsageError(f"{path} does not exist", hint="pass a CMT data package .zip or its folder")
        if SCHEMA not in self._entries:
            self.close()
            raise UsageError(f"{path} has no {SCHEMA} at its root", hint="is this a CMT data package?")

    def _check_size(self, name: str, size: int, compressed: int) -> None:
        if size > self.max_entry_bytes:
            raise SafetyError(
                f"package entry {name!r} is {size} bytes, over the {self.max_entry_bytes}-byte limit",
                hint="raise the limit only for a package you trust",
            )
        if size > 1024**2 and size > MAX_RATIO * max(compressed, 1):
            raise SafetyError(f"package entry {name!r} expands {size // max(compressed, 1)}x: refused as a zip bomb")

    def has(self, name: str) -> bool:
        return name.lower() in self._entries

    @property
    def has_content_types(self) -> bool:
        return self.has(CONTENT_TYPES_NAME)

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """A binary stream of one root entry, limited to ``max_entry_bytes``."""
        real = self._entries.get(name.lower())
        if real is None:
            raise UsageError(f"{self.path} has no {name}")
        if self._zip is not None:
            with self._zip.open(real) as raw:
                yield _CountingReader(raw, self.max_entry_bytes, name)  # type: ignore[misc]
        else:
            file = self.path / real
            self._check_size(name, file.stat().st_size, file.stat().st_size)
            with file.open("rb") as raw:
                yield _CountingReader(raw, self.max_entry_bytes, name)  # type: ignore[misc]

    def read(self, name: str) -> bytes:
        with self.open(name) as stream:
            chunks = []
            while chunk := stream.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> CmtPackageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def write_package(path: Path, schema_xml: bytes) -> Iterator[IO[bytes]]:
    """Create ``path`` (a zip) with ``[Content_Types].xml`` and ``data_schema.xml``; yield the ``data.xml`` stream.

    The archive is written to a temporary name and renamed into place only when the block succeeds.
    """
    tmp = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.writestr(_info(CONTENT_TYPES_NAME), CONTENT_TYPES)
            with zf.open(_info(DATA), "w", force_zip64=True) as data:
                yield data
            zf.writestr(_info(SCHEMA), schema_xml)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info
