"""Safe access to the files of a solution: an unpacked folder or a solution ``.zip``.

Owns the three things every reader in ``seeder.components`` needs and must get right once:

* a hardened XML parser (no entity resolution, no network, no DTD loading) — :func:`parse_xml`;
* BOM-tolerant text and JSON decoding (many real solution files start with a UTF-8 BOM) — :func:`decode_text`,
  :func:`parse_json`;
* :class:`SolutionFiles`, a case-insensitive view of the files of a folder or a zip whose entries are
  checked for path traversal, count and size before anything is read.

Errors raised here are :class:`~seeder.errors.ComponentError`; lxml, json and zipfile exceptions never leak.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from lxml import etree

from seeder.errors import ComponentError

__all__ = [
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "MAX_TOTAL_BYTES",
    "SolutionFiles",
    "decode_text",
    "parse_json",
    "parse_xml",
    "safe_entry_name",
]

MAX_ENTRIES = 50_000
"""Most entries a solution zip may hold."""
MAX_ENTRY_BYTES = 256 * 1024 * 1024
"""Largest single uncompressed entry (Dataverse's own solution limit is 200 MB uncompressed in total)."""
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
"""Largest total uncompressed size of a solution zip."""

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=False, huge_tree=False
)
_DRIVE = re.compile(r"^[A-Za-z]:")


def decode_text(data: bytes, *, what: str = "file") -> str:
    """UTF-8 text with or without a BOM (UTF-16 files with a BOM are accepted too)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ComponentError(f"{what} is not valid UTF-16 text: {exc.reason}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ComponentError(f"{what} is not UTF-8 text (byte {exc.start})", hint="save it as UTF-8") from None


def parse_json(data: bytes | str, *, what: str = "JSON file") -> Any:
    """Parse JSON text, tolerating a leading BOM; a :class:`ComponentError` names the file on failure."""
    text = decode_text(data, what=what) if isinstance(data, bytes) else data.lstrip("\ufeff")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ComponentError(
            f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None


def parse_xml(data: bytes, *, what: str = "XML file") -> etree._Element:
    """Parse XML with the hardened parser. A BOM is fine; entities and DTDs are never resolved."""
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ComponentError(f"{what} is not well-formed XML: {exc.msg}") from None
    if root is None:
        raise ComponentError(f"{what} is empty")
    return root


def safe_entry_name(name: str) -> str:
    """A zip entry name as a clean relative POSIX path, or :class:`ComponentError` when it escapes the root."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or _DRIVE.match(cleaned):
        raise ComponentError(f"solution zip entry {name!r} has an absolute path", hint="the zip is unsafe")
    parts = [p for p in PurePosixPath(cleaned).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ComponentError(f"solution zip entry {name!r} points outside the solution", hint="the zip is unsafe")
    return "/".join(parts)


class SolutionFiles:
    """The files of one solution, read-only, looked up case-insensitively by relative POSIX path.

    Open with :meth:`open`; use as a context manager so a zip is closed afterwards.
    """

    def __init__(self, label: str, names: dict[str, str], zip_file: zipfile.ZipFile | None, root: Path | None):
        self.label = label
        self._names = names  # lower-case relative path -> real relative path (zip entry or file path)
        self._zip = zip_file
        self._root = root

    @classmethod
    def open(cls, path: Path) -> SolutionFiles:
        """Open a folder or a ``.zip``; :class:`ComponentError` when it is neither or the zip is unsafe."""
        if path.is_dir():
            return cls._open_folder(path)
        if path.is_file():
            return cls._open_zip(path)
        raise ComponentError(f"{path} does not exist", hint="give an unpacked solution folder or a solution .zip")

    @classmethod
    def _open_folder(cls, path: Path) -> SolutionFiles:
        root = path.resolve()
        names: dict[str, str] = {}
        for file in sorted(root.rglob("*")):
            if not file.is_file():
                continue
            try:
                rel = file.resolve().relative_to(root)
            except ValueError:
                continue  # a symlink pointing outside the folder is ignored
            if len(names) >= MAX_ENTRIES:
                raise ComponentError(f"{path} holds more than {MAX_ENTRIES} files")
            key = file.relative_to(root).as_posix()
            names.setdefault(key.lower(), rel.as_posix())
        return cls(str(path), names, None, root)

    @classmethod
    def _open_zip(cls, path: Path) -> SolutionFiles:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ComponentError(f"{path} is not a readable zip file: {exc}") from None
        try:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ComponentError(f"{path} holds {len(infos)} entries (limit {MAX_ENTRIES})")
            total = 0
            names: dict[str, str] = {}
            for info in infos:
                clean = safe_entry_name(info.filename)
                if info.is_dir() or not clean:
                    continue
                if info.file_size > MAX_ENTRY_BYTES:
                    raise ComponentError(f"{path}: entry {clean!r} is {info.file_size} bytes uncompressed (too big)")
                total += info.file_size
                if total > MAX_TOTAL_BYTES:
                    raise ComponentError(f"{path} expands to more than {MAX_TOTAL_BYTES} bytes", hint="not a solution")
                names.setdefault(clean.lower(), info.filename)
        except ComponentError:
            zf.close()
            raise
        return cls(str(path), names, zf, None)

    def __enter__(self) -> SolutionFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    @property
    def is_zip(self) -> bool:
        return self._zip is not None

    def paths(self) -> list[str]:
        """Every file as its lower-case relative path, sorted."""
        return sorted(self._names)

    def exists(self, relpath: str) -> bool:
        return relpath.strip("/").lower() in self._names

    def glob(self, prefix: str, suffix: str = "") -> Iterator[str]:
        """Lower-case paths under ``prefix`` (a folder, case-insensitive) ending with ``suffix``, sorted."""
        pre = prefix.strip("/").lower() + "/" if prefix.strip("/") else ""
        suf = suffix.lower()
        for name in sorted(self._names):
            if name.startswith(pre) and name.endswith(suf):
                yield name

    def read(self, relpath: str) -> bytes | None:
        """The bytes of a file, or ``None`` when absent. Sizes are enforced while reading, not trusted."""
        real = self._names.get(relpath.strip("/").replace("\\", "/").lower())
        if real is None:
            return None
        if self._zip is not None:
            try:
                with self._zip.open(real) as handle:
                    data = handle.read(MAX_ENTRY_BYTES + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                raise ComponentError(f"{self.label}: cannot read {real!r}: {exc}") from None
        else:
            assert self._root is not None
            try:
                with open(self._root / real, "rb") as handle:
                    data = handle.read(MAX_ENTRY_BYTES + 1)
            except OSError as exc:
                raise ComponentError(f"{self.label}: cannot read {real!r}: {exc.strerror}") from None
        if len(data) > MAX_ENTRY_BYTES:
            raise ComponentError(f"{self.label}: {real!r} is larger than {MAX_ENTRY_BYTES} bytes")
        return data

    def real_name(self, relpath: str) -> str:
        """The path as spelled in the folder or zip."""
        return self._names.get(relpath.strip("/").lower(), relpath)
