"""Unpack an exported solution zip into the layout ``pac solution unpack`` writes.

The packed zip keeps ``solution.xml`` and ``customizations.xml`` at its root (plus ``[Content_Types].xml``);
``pac solution unpack`` (SolutionPackager) moves the two manifests under ``Other/`` as ``Solution.xml`` and
``Customizations.xml`` and keeps every other folder (``Workflows/``, ``CanvasApps/``,
``environmentvariabledefinitions/``, ``Connectors/`` ...) where it is. Entries are checked for path
traversal, count and size through :class:`~seeder.components.sources.SolutionFiles`. Unpacking does not
split ``customizations.xml`` into per-entity files: the result is readable by
:meth:`ComponentSet.from_solution` and by ``pac solution pack``-style tooling that accepts the merged file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from seeder.components.sources import SolutionFiles

__all__ = ["unpack_solution"]

_RENAMES = {"solution.xml": "Other/Solution.xml", "customizations.xml": "Other/Customizations.xml",
            "relationships.xml": "Other/Relationships.xml"}
_DROP = {"[content_types].xml"}


def unpack_solution(data: bytes) -> Iterator[tuple[str, bytes]]:
    """``(relative path, bytes)`` of each file of the solution zip ``data``, in the unpacked layout, sorted."""
    with tempfile.TemporaryDirectory(prefix="seeder-solution-") as tmp:
        path = Path(tmp) / "solution.zip"
        path.write_bytes(data)
        with SolutionFiles.open(path) as files:
            entries: list[tuple[str, bytes]] = []
            for name in files.paths():
                if name in _DROP:
                    continue
                content = files.read(name)
                if content is None:
                    continue
                real = files.real_name(name)
                entries.append((_RENAMES.get(name, real), content))
    yield from sorted(entries)
