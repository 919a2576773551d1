"""Power Platform components: solutions, cloud flows, connection references, environment variables,
canvas apps, custom connectors, deployment settings; re-wiring plans and post-restore validation.

Pure: reads files and Web-API-shaped rows, returns frozen reports. It never speaks HTTP; the verbs carry
its plans to ``seeder.dataverse``.
"""

from __future__ import annotations

from seeder.components.flows import FlowConnection, FlowDefinition, parse_clientdata
from seeder.components.inventory import SHARED_WITH_KEY, ComponentSet
from seeder.components.items import (
    CanvasApp,
    ConnectionReference,
    CustomConnector,
    EnvironmentVariable,
    Finding,
    Flow,
    SolutionInfo,
)
from seeder.components.rewire import Action, RewirePlan, TargetState, plan_rewire, rewire_actions
from seeder.components.settings import (
    ConnectionReferenceSetting,
    DeploymentSettings,
    EnvironmentVariableSetting,
    SettingsProposal,
    propose_settings,
)
from seeder.components.shares import principal_of, share_key, share_keys
from seeder.components.unpack import unpack_solution
from seeder.components.validation import (
    Check,
    MailboxFact,
    TargetFacts,
    ValidationReport,
    facts_from_components,
    validate,
)

__all__ = [
    "SHARED_WITH_KEY",
    "Action",
    "CanvasApp",
    "Check",
    "ComponentSet",
    "ConnectionReference",
    "ConnectionReferenceSetting",
    "CustomConnector",
    "DeploymentSettings",
    "EnvironmentVariable",
    "EnvironmentVariableSetting",
    "Finding",
    "Flow",
    "FlowConnection",
    "FlowDefinition",
    "MailboxFact",
    "RewirePlan",
    "SettingsProposal",
    "SolutionInfo",
    "TargetFacts",
    "TargetState",
    "ValidationReport",
    "facts_from_components",
    "parse_clientdata",
    "plan_rewire",
    "principal_of",
    "propose_settings",
    "rewire_actions",
    "share_key",
    "share_keys",
    "unpack_solution",
    "validate",
]
