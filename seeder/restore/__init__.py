"""Restore and seed: write a snapshot (or part of it) into an environment, precisely and resumably.

``restore(env, snapshot, RestoreOptions(...))`` returns a :class:`RestoreReport`. See :mod:`.run` for
the order of work, :mod:`.selection` for which rows, :mod:`.refdata` for reference-data matching and
:mod:`.journal` for resuming.
"""

from seeder.restore.journal import Journal
from seeder.restore.refdata import REFERENCE_TABLES, ReferenceMap
from seeder.restore.report import RestoreReport, TableResult
from seeder.restore.run import MODES, RestoreOptions, resolve_as_of, restore
from seeder.restore.selection import Selection

__all__ = [
    "MODES",
    "REFERENCE_TABLES",
    "Journal",
    "ReferenceMap",
    "RestoreOptions",
    "RestoreReport",
    "Selection",
    "TableResult",
    "resolve_as_of",
    "restore",
]
