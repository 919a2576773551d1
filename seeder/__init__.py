"""seeder: clone Microsoft Dataverse / Power Platform environments safely.

The library is the product; the ``seeder`` command is a skin over it. Layers (imports point down):

* ``seeder.cli`` — the command line;
* verbs — ``export``, ``mask``, ``restore``, ``diff``, ``clone``, ``interop``, ``inspect``;
* nouns — ``dataverse`` (the only HTTP), ``snapshot``, ``plan``, ``masking``, ``components``, ``cmt``,
  ``emulator``;
* ``metadata`` and ``odata`` — pure readers;
* ``model`` — the shared vocabulary; ``errors`` — the one error tree.

Heavy modules are imported lazily: ``import seeder`` stays cheap.
"""

from seeder.__about__ import __version__
from seeder.errors import (
    AuthError,
    ComponentError,
    DataverseError,
    MaskingError,
    PlanError,
    RestoreError,
    SafetyError,
    SeederError,
    SnapshotError,
    Throttled,
    UsageError,
)
from seeder.model import (
    AlternateKey,
    Column,
    Lookup,
    LookupTarget,
    ManyToMany,
    OrgInfo,
    Record,
    Schema,
    Table,
)

__all__ = [
    "AlternateKey",
    "AuthError",
    "Column",
    "ComponentError",
    "DataverseError",
    "Lookup",
    "LookupTarget",
    "ManyToMany",
    "MaskingError",
    "OrgInfo",
    "PlanError",
    "Record",
    "RestoreError",
    "SafetyError",
    "Schema",
    "SeederError",
    "SnapshotError",
    "Table",
    "Throttled",
    "UsageError",
    "__version__",
]
