"""The Power Platform component tables as compact specifications: publisher, solution, solutioncomponent,
workflow (cloud flows are workflow rows with ``category`` 5 and their definition in ``clientdata``),
connectionreference, environmentvariabledefinition / environmentvariablevalue, canvasapp and connector.
"""

from __future__ import annotations

from seeder.metadata._build import ColumnSpec, TableSpec

__all__ = ["COMPONENT_TABLES", "COMPONENT_TYPES"]

_N = "None"
_AR = "ApplicationRequired"
_SR = "SystemRequired"

COMPONENT_TYPES: dict[str, int] = {
    "entity": 1, "attribute": 2, "optionset": 9, "workflow": 29, "canvasapp": 300, "connector": 372,
    "environmentvariabledefinition": 380, "environmentvariablevalue": 381,
}
"""solutioncomponent.componenttype codes of the fixed list (connection references have a per-environment code)."""


def _s(name: str, fmt: str | None = "Text", req: str = _N) -> ColumnSpec:
    return (name, "String", fmt, req)


def _c(name: str, type_: str, fmt: str | None = None, req: str = _N) -> ColumnSpec:
    return (name, type_, fmt, req)


_ACTIVE = ((0, "Active"), (1, "Inactive"))
_ACTIVE_STATUS = ((1, 0, "Active"), (2, 1, "Inactive"))

COMPONENT_TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        name="publisher", entity_set="publishers", primary_id="publisherid", primary_name="friendlyname",
        display_name="Publisher", ownership="OrganizationOwned", object_type_code=7101,
        columns=(_s("uniquename", "Text", _SR), _s("friendlyname", "Text", _SR), _s("customizationprefix", "Text", _SR),
                 _c("customizationoptionvalueprefix", "Integer", None, _SR), _s("emailaddress", "Email"),
                 _s("supportingwebsiteurl", "Url"), _c("description", "Memo", "TextArea")),
        keys=(("publisher_uniquename", ("uniquename",)),),
    ),
    TableSpec(
        name="solution", entity_set="solutions", primary_id="solutionid", primary_name="friendlyname",
        display_name="Solution", ownership="OrganizationOwned", object_type_code=7100,
        columns=(_s("uniquename", "Text", _SR), _s("friendlyname", "Text", _SR), _s("version", "VersionNumber", _SR),
                 _c("ismanaged", "Boolean"), _c("isvisible", "Boolean"), _c("description", "Memo", "TextArea"),
                 _c("installedon", "DateTime", "DateAndTime")),
        lookups=(("publisherid", "Lookup", _SR, (("publisher", "publisherid", "publisher_solution"),)),),
        keys=(("solution_uniquename", ("uniquename",)),), read_only=("ismanaged", "installedon"),
    ),
    TableSpec(
        name="solutioncomponent", entity_set="solutioncomponents", primary_id="solutioncomponentid", primary_name=None,
        display_name="Solution Component", ownership="OrganizationOwned", object_type_code=7103, system_columns=False,
        columns=(_c("objectid", "Uniqueidentifier"), _c("componenttype", "Picklist"),
                 _c("rootcomponentbehavior", "Picklist"), _c("ismetadata", "Boolean"),
                 _c("rootsolutioncomponentid", "Uniqueidentifier"), _c("createdon", "DateTime", "DateAndTime"),
                 _c("modifiedon", "DateTime", "DateAndTime")),
        lookups=(("solutionid", "Lookup", _N, (("solution", "solutionid", "solution_solutioncomponent"),)),),
        options=(
            ("componenttype", tuple((v, k) for k, v in sorted(COMPONENT_TYPES.items(), key=lambda kv: kv[1]))),
            ("rootcomponentbehavior", ((0, "Include Subcomponents"), (1, "Do not include subcomponents"),
                                       (2, "Include As Shell Only"))),
        ),
        read_only=("objectid", "componenttype", "rootcomponentbehavior", "ismetadata", "rootsolutioncomponentid",
                   "solutionid", "createdon", "modifiedon"),
    ),
    TableSpec(
        name="workflow", entity_set="workflows", primary_id="workflowid", primary_name="name",
        display_name="Process", object_type_code=4703,
        columns=(
            _s("name", "Text", _SR), _c("category", "Picklist", None, _SR), _c("type", "Picklist", None, _SR),
            _s("primaryentity", "Text", _SR), _c("clientdata", "Memo", "Json"), _c("description", "Memo", "TextArea"),
            _c("mode", "Picklist"), _c("scope", "Picklist"), _c("ondemand", "Boolean"), _c("ismanaged", "Boolean"),
            _c("workflowidunique", "Uniqueidentifier"), _s("uniquename"),
        ),
        options=(
            ("category", ((0, "Workflow"), (1, "Dialog"), (2, "Business Rule"), (3, "Action"),
                          (4, "Business Process Flow"), (5, "Modern Flow"), (6, "Desktop Flow"))),
            ("type", ((1, "Definition"), (2, "Activation"), (3, "Template"))),
            ("mode", ((0, "Background"), (1, "Real-time"))),
            ("scope", ((1, "User"), (2, "Business Unit"), (3, "Parent: Child Business Units"), (4, "Organization"))),
        ),
        states=((0, "Draft"), (1, "Activated"), (2, "Suspended")),
        statuses=((1, 0, "Draft"), (2, 1, "Activated"), (3, 2, "Company DLP Violation")),
        read_only=("ismanaged", "workflowidunique"),
    ),
    TableSpec(
        name="connector", entity_set="connectors", primary_id="connectorid", primary_name="name",
        display_name="Connector", object_type_code=10105,
        columns=(
            _s("name", "Text", _SR), _s("displayname", "Text", _AR), _c("connectortype", "Picklist"),
            _s("connectorinternalid"), _c("description", "Memo", "TextArea"), _c("openapidefinition", "Memo", "Json"),
            _c("connectionparameters", "Memo", "Json"), _c("policytemplateinstances", "Memo", "Json"),
            _s("iconbrandcolor"), _c("ismanaged", "Boolean"),
        ),
        options=(("connectortype", ((1, "NotSpecified"), (2, "Custom"), (3, "Certified"))),),
        keys=(("connector_name", ("name",)),),
        states=_ACTIVE, statuses=_ACTIVE_STATUS, read_only=("ismanaged",),
    ),
    TableSpec(
        name="connectionreference", entity_set="connectionreferences", primary_id="connectionreferenceid",
        primary_name="connectionreferencedisplayname", display_name="Connection Reference", object_type_code=10106,
        columns=(
            _s("connectionreferencelogicalname", "Text", _SR), _s("connectionreferencedisplayname", "Text", _AR),
            _s("connectorid", "Text", _AR), _s("connectionid"), _c("promptingbehavior", "Picklist"),
            _c("description", "Memo", "TextArea"), _c("ismanaged", "Boolean"),
        ),
        lookups=(("customconnectorid", "Lookup", _N,
                  (("connector", "CustomConnectorId", "connector_connectionreference"),)),),
        options=(("promptingbehavior", ((0, "Prompt"), (1, "Skip"))),),
        keys=(("connectionreference_logicalname", ("connectionreferencelogicalname",)),),
        states=_ACTIVE, statuses=_ACTIVE_STATUS, read_only=("ismanaged",),
    ),
    TableSpec(
        name="environmentvariabledefinition", entity_set="environmentvariabledefinitions",
        primary_id="environmentvariabledefinitionid", primary_name="schemaname",
        display_name="Environment Variable Definition", object_type_code=380,
        columns=(
            _s("schemaname", "Text", _SR), _s("displayname", "Text", _AR), _c("type", "Picklist", None, _AR),
            _c("defaultvalue", "Memo", "TextArea"), _c("valueschema", "Memo", "Json"), _c("isrequired", "Boolean"),
            _c("description", "Memo", "TextArea"), _s("hint"), _s("apiid"), _s("parameterkey"),
            _c("ismanaged", "Boolean"),
        ),
        lookups=(("connectionreferenceid", "Lookup", _N, (
            ("connectionreference", "ConnectionReferenceId", "connectionreference_environmentvariabledefinition"),)),),
        options=(("type", ((100000000, "String"), (100000001, "Number"), (100000002, "Boolean"), (100000003, "JSON"),
                           (100000004, "Data source"), (100000005, "Secret"))),),
        keys=(("environmentvariabledefinition_schemaname", ("schemaname",)),),
        states=_ACTIVE, statuses=_ACTIVE_STATUS, read_only=("ismanaged",),
    ),
    TableSpec(
        name="environmentvariablevalue", entity_set="environmentvariablevalues",
        primary_id="environmentvariablevalueid", primary_name="schemaname",
        display_name="Environment Variable Value", object_type_code=381,
        columns=(_s("schemaname", "Text", _SR), _c("value", "Memo", "TextArea"), _c("ismanaged", "Boolean")),
        lookups=(("environmentvariabledefinitionid", "Lookup", _N, (
            ("environmentvariabledefinition", "EnvironmentVariableDefinitionId",
             "environmentvariabledefinition_environmentvariablevalue"),)),),
        states=_ACTIVE, statuses=_ACTIVE_STATUS, read_only=("ismanaged",),
    ),
    TableSpec(
        name="canvasapp", entity_set="canvasapps", primary_id="canvasappid", primary_name="name",
        display_name="Canvas App", object_type_code=300,
        columns=(
            _s("name", "Text", _SR), _s("displayname", "Text", _AR), _s("appversion"), _s("appopenuri", "Url"),
            _c("uniquecanvasappid", "Uniqueidentifier"), _c("canvasapptype", "Picklist"),
            _c("description", "Memo", "TextArea"), _s("status"), _c("tags", "Memo", "TextArea"),
            _c("bypassconsent", "Boolean"),
            _c("connectionreferences", "Memo", "Json"), _c("databasereferences", "Memo", "Json"),
            _c("appcomponents", "Memo", "Json"), _c("appcomponentdependencies", "Memo", "Json"),
            _s("aadcreatedbyid"), _c("ismanaged", "Boolean"),
        ),
        options=(("canvasapptype", ((0, "Classic Canvas App"), (1, "Component Library"), (2, "Custom Canvas Page"))),),
        keys=(("canvasapp_name", ("name",)),), read_only=("ismanaged",),
    ),
)
