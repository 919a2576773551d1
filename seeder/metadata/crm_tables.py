"""The standard CRM core tables as compact specifications: organisation, business units, users, teams,
currencies, accounts, contacts, leads, opportunities, activities (task, phone call, email), activity parties
and notes.

Logical names, entity set names, column types and formats, required levels, navigation properties and
relationship names are Dataverse's own (account ↔ contact cycle through ``primarycontactid`` /
``parentcustomerid``, the ``parentaccountid`` self-reference, polymorphic customer, regarding, objectid and
owner lookups).
"""

from __future__ import annotations

from seeder.metadata._build import ColumnSpec, LookupSpec, TableSpec

__all__ = ["CRM_TABLES"]

_N = "None"
_AR = "ApplicationRequired"
_SR = "SystemRequired"
_REC = "Recommended"


def _s(name: str, fmt: str | None = "Text", req: str = _N) -> ColumnSpec:
    return (name, "String", fmt, req)


def _c(name: str, type_: str, fmt: str | None = None, req: str = _N) -> ColumnSpec:
    return (name, type_, fmt, req)


def _lk(column: str, target: str, relationship: str, req: str = _N, nav: str | None = None) -> LookupSpec:
    return (column, "Lookup", req, ((target, nav or column, relationship),))


def _customer(column: str, table: str, rel_prefix: str, req: str = _N) -> LookupSpec:
    return (column, "Customer", req, (
        ("account", f"{column}_account", f"{rel_prefix}_accounts"),
        ("contact", f"{column}_contact", f"{rel_prefix}_contacts"),
    ))


_ADDRESS: tuple[ColumnSpec, ...] = (
    _s("address1_line1"), _s("address1_line2"), _s("address1_city"), _s("address1_stateorprovince"),
    _s("address1_postalcode"), _s("address1_country"), _s("address1_telephone1", "Phone"),
)

_REGARDING_TARGETS = (("account", "Account"), ("contact", "Contact"), ("lead", "Lead"), ("opportunity", "Opportunity"))


def _regarding(activity: str, collection: str) -> LookupSpec:
    return ("regardingobjectid", "Lookup", _N, tuple(
        (table, f"regardingobjectid_{table}_{activity}", f"{label}_{collection}") for table, label in _REGARDING_TARGETS
    ))


_ACTIVITY_STATES = ((0, "Open"), (1, "Completed"), (2, "Canceled"))


def _activity_columns(extra: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
    return (
        _s("subject", "Text", _REC), _c("description", "Memo", "TextArea"),
        _c("scheduledstart", "DateTime", "DateAndTime"),
        _c("scheduledend", "DateTime", "DateAndTime"), _c("actualend", "DateTime", "DateAndTime"),
        _c("activitytypecode", "EntityName", None, _SR), _c("prioritycode", "Picklist"), *extra,
    )


_PRIORITY = ("prioritycode", ((0, "Low"), (1, "Normal"), (2, "High")))

CRM_TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        name="organization", entity_set="organizations", primary_id="organizationid", primary_name="name",
        display_name="Organization", ownership="None", object_type_code=1019, system_columns=False,
        columns=(_s("name", "Text", _SR), _c("languagecode", "Integer"), _s("uniquename"),
                 _c("createdon", "DateTime", "DateAndTime"), _c("modifiedon", "DateTime", "DateAndTime")),
        lookups=(_lk("basecurrencyid", "transactioncurrency", "basecurrency_organization"),),
        read_only=("createdon", "modifiedon"),
    ),
    TableSpec(
        name="businessunit", entity_set="businessunits", primary_id="businessunitid", primary_name="name",
        display_name="Business Unit", ownership="BusinessOwned", object_type_code=10,
        columns=(_s("name", "Text", _SR), _s("emailaddress", "Email"), _s("websiteurl", "Url"),
                 _s("divisionname"), _c("isdisabled", "Boolean"), *_ADDRESS),
        lookups=(
            _lk("parentbusinessunitid", "businessunit", "business_unit_parent_business_unit"),
            _lk("organizationid", "organization", "organization_business_units"),
            _lk("transactioncurrencyid", "transactioncurrency", "transactioncurrency_businessunit"),
        ),
        keys=(("businessunit_name", ("name",)),),
    ),
    TableSpec(
        name="systemuser", entity_set="systemusers", primary_id="systemuserid", primary_name="fullname",
        display_name="User", ownership="BusinessOwned", object_type_code=8,
        columns=(
            _s("fullname"), _s("firstname", "Text", _REC), _s("lastname", "Text", _AR),
            _s("domainname", "Text", _SR), _s("internalemailaddress", "Email", _AR),
            _s("personalemailaddress", "Email"),
            _s("mobilephone", "Phone"), _s("homephone", "Phone"), _s("title"), _s("jobtitle"),
            _c("azureactivedirectoryobjectid", "Uniqueidentifier"), _c("isdisabled", "Boolean"),
            _c("accessmode", "Picklist"), *_ADDRESS,
        ),
        lookups=(
            _lk("businessunitid", "businessunit", "business_unit_system_users", _SR),
            _lk("parentsystemuserid", "systemuser", "user_parent_user"),
            _lk("transactioncurrencyid", "transactioncurrency", "transactioncurrency_systemuser"),
        ),
        options=(("accessmode", ((0, "Read-Write"), (1, "Administrative"), (2, "Read"), (3, "Support User"),
                                 (4, "Non-interactive"), (5, "Delegated Admin"))),),
        keys=(("systemuser_domainname", ("domainname",)),),
        read_only=("fullname",),
    ),
    TableSpec(
        name="mailbox", entity_set="mailboxes", primary_id="mailboxid", primary_name="name",
        display_name="Mailbox", ownership="UserOwned", object_type_code=9606,
        columns=(_s("name", "Text", _SR), _s("emailaddress", "Email"),
                 _c("incomingemaildeliverymethod", "Picklist", None, _SR),
                 _c("outgoingemaildeliverymethod", "Picklist", None, _SR),
                 _c("actdeliverymethod", "Picklist", None, _SR), _c("isforwardmailbox", "Boolean")),
        lookups=(("regardingobjectid", "Lookup", _N,
                  (("systemuser", "regardingobjectid", "mailbox_regarding_systemuser"),)),),
        options=(("incomingemaildeliverymethod", ((0, "None"), (1, "Microsoft Dynamics 365 for Outlook"),
                                                  (2, "Server-Side Synchronization or Email Router"),
                                                  (3, "Forward Mailbox"))),
                 ("outgoingemaildeliverymethod", ((0, "None"), (1, "Microsoft Dynamics 365 for Outlook"),
                                                  (2, "Server-Side Synchronization or Email Router"))),
                 ("actdeliverymethod", ((0, "Microsoft Dynamics 365 for Outlook"),
                                        (1, "Server-Side Synchronization"), (2, "None")))),
    ),
    TableSpec(
        name="team", entity_set="teams", primary_id="teamid", primary_name="name",
        display_name="Team", ownership="BusinessOwned", object_type_code=9,
        columns=(_s("name", "Text", _SR), _c("teamtype", "Picklist", None, _SR), _s("emailaddress", "Email"),
                 _c("description", "Memo", "TextArea"), _c("isdefault", "Boolean"),
                 _c("azureactivedirectoryobjectid", "Uniqueidentifier")),
        lookups=(
            _lk("businessunitid", "businessunit", "business_unit_teams", _SR),
            _lk("administratorid", "systemuser", "lk_teambase_administratorid", _SR),
            _lk("transactioncurrencyid", "transactioncurrency", "TransactionCurrency_Team"),
        ),
        options=(("teamtype", ((0, "Owner"), (1, "Access"), (2, "Security Group"), (3, "Office Group"))),),
        keys=(("team_name_businessunit", ("name", "businessunitid")),),
    ),
    TableSpec(
        name="transactioncurrency", entity_set="transactioncurrencies", primary_id="transactioncurrencyid",
        primary_name="currencyname", display_name="Currency", ownership="OrganizationOwned", object_type_code=9105,
        columns=(_s("currencyname", "Text", _SR), _s("isocurrencycode", "Text", _SR), _s("currencysymbol", "Text", _SR),
                 _c("exchangerate", "Decimal", None, _SR), _c("currencyprecision", "Integer", None, _SR)),
        keys=(("transactioncurrency_isocurrencycode", ("isocurrencycode",)),),
        states=((0, "Active"), (1, "Inactive")), statuses=((1, 0, "Active"), (2, 1, "Inactive")),
    ),
    TableSpec(
        name="account", entity_set="accounts", primary_id="accountid", primary_name="name",
        display_name="Account", object_type_code=1,
        columns=(
            _s("name", "Text", _AR), _s("accountnumber"), _s("emailaddress1", "Email"), _s("emailaddress2", "Email"),
            _s("telephone1", "Phone"), _s("telephone2", "Phone"), _s("fax", "Phone"), _s("websiteurl", "Url"),
            _s("tickersymbol", "TickerSymbol"), _c("revenue", "Money"), _c("numberofemployees", "Integer"),
            _c("industrycode", "Picklist"), _c("customertypecode", "Picklist"), _c("description", "Memo", "TextArea"),
            _c("creditonhold", "Boolean"), _c("accountcategorycode", "Picklist"), _c("address1_latitude", "Double"),
            _c("address1_longitude", "Double"), *_ADDRESS,
        ),
        lookups=(
            _lk("primarycontactid", "contact", "account_primary_contact"),
            _lk("parentaccountid", "account", "account_parent_account"),
            _lk("transactioncurrencyid", "transactioncurrency", "transactioncurrency_account"),
            _lk("originatingleadid", "lead", "account_originating_lead"),
        ),
        options=(
            ("industrycode", ((1, "Accounting"), (2, "Agriculture and Non-petrol Natural Resource Extraction"),
                              (3, "Broadcasting Printing and Publishing"), (6, "Consulting"), (7, "Consumer Services"),
                              (12, "Financial"), (19, "Retail"), (33, "Wholesale"))),
            ("customertypecode", ((1, "Competitor"), (2, "Consultant"), (3, "Customer"), (4, "Investor"),
                                  (5, "Partner"), (11, "Prospect"), (12, "Other"))),
        ),
        keys=(("account_accountnumber", ("accountnumber",)),),
        states=((0, "Active"), (1, "Inactive")), statuses=((1, 0, "Active"), (2, 1, "Inactive")),
    ),
    TableSpec(
        name="contact", entity_set="contacts", primary_id="contactid", primary_name="fullname",
        display_name="Contact", object_type_code=2,
        columns=(
            _s("fullname"), _s("firstname", "Text", _REC), _s("lastname", "Text", _AR), _s("jobtitle"),
            _s("emailaddress1", "Email"), _s("emailaddress2", "Email"), _s("telephone1", "Phone"),
            _s("mobilephone", "Phone"), _c("birthdate", "DateTime", "DateOnly"), _c("gendercode", "Picklist"),
            _s("governmentid"), _c("description", "Memo", "TextArea"), _c("donotemail", "Boolean"), *_ADDRESS,
        ),
        lookups=(
            _customer("parentcustomerid", "contact", "contact_customer"),
            _lk("transactioncurrencyid", "transactioncurrency", "transactioncurrency_contact"),
            _lk("originatingleadid", "lead", "contact_originating_lead"),
        ),
        options=(("gendercode", ((1, "Male"), (2, "Female"))),),
        states=((0, "Active"), (1, "Inactive")), statuses=((1, 0, "Active"), (2, 1, "Inactive")),
        read_only=("fullname",),
    ),
    TableSpec(
        name="lead", entity_set="leads", primary_id="leadid", primary_name="fullname",
        display_name="Lead", object_type_code=4,
        columns=(
            _s("subject", "Text", _AR), _s("fullname"), _s("firstname", "Text", _REC), _s("lastname", "Text", _AR),
            _s("companyname"), _s("jobtitle"), _s("emailaddress1", "Email"), _s("telephone1", "Phone"),
            _s("mobilephone", "Phone"), _s("websiteurl", "Url"), _c("leadsourcecode", "Picklist"),
            _c("estimatedamount", "Money"), _c("description", "Memo", "TextArea"), *_ADDRESS,
        ),
        lookups=(
            _lk("parentaccountid", "account", "lead_parent_account"),
            _lk("parentcontactid", "contact", "lead_parent_contact"),
            _customer("customerid", "lead", "lead_customer"),
            _lk("qualifyingopportunityid", "opportunity", "lead_qualifying_opportunity"),
            _lk("transactioncurrencyid", "transactioncurrency", "transactioncurrency_lead"),
        ),
        options=(("leadsourcecode", ((1, "Advertisement"), (2, "Employee Referral"), (3, "External Referral"),
                                     (4, "Partner"), (5, "Public Relations"), (7, "Trade Show"), (8, "Web"),
                                     (10, "Other"))),),
        states=((0, "Open"), (1, "Qualified"), (2, "Disqualified")),
        statuses=((1, 0, "New"), (2, 0, "Contacted"), (3, 1, "Qualified"), (4, 2, "Lost"), (5, 2, "Cannot Contact"),
                  (6, 2, "No Longer Interested"), (7, 2, "Canceled")),
        read_only=("fullname",),
    ),
    TableSpec(
        name="opportunity", entity_set="opportunities", primary_id="opportunityid", primary_name="name",
        display_name="Opportunity", object_type_code=3,
        columns=(
            _s("name", "Text", _AR), _c("estimatedvalue", "Money"), _c("actualvalue", "Money"),
            _c("estimatedclosedate", "DateTime", "DateOnly"), _c("actualclosedate", "DateTime", "DateOnly"),
            _c("closeprobability", "Integer"), _c("opportunityratingcode", "Picklist"),
            _c("description", "Memo", "TextArea"),
        ),
        lookups=(
            _customer("customerid", "opportunity", "opportunity_customer"),
            _lk("parentaccountid", "account", "opportunity_parent_account"),
            _lk("parentcontactid", "contact", "opportunity_parent_contact"),
            _lk("originatingleadid", "lead", "opportunity_originating_lead"),
            _lk("transactioncurrencyid", "transactioncurrency", "transactioncurrency_opportunity"),
        ),
        options=(("opportunityratingcode", ((1, "Hot"), (2, "Warm"), (3, "Cold"))),),
        states=((0, "Open"), (1, "Won"), (2, "Lost")),
        statuses=((1, 0, "In Progress"), (2, 0, "On Hold"), (3, 1, "Won"), (4, 2, "Canceled"), (5, 2, "Out-Sold")),
    ),
    TableSpec(
        name="activitypointer", entity_set="activitypointers", primary_id="activityid", primary_name="subject",
        display_name="Activity", object_type_code=4200, columns=_activity_columns(()),
        lookups=(_regarding("activitypointer", "ActivityPointers"),),
        options=(_PRIORITY,), read_only=("activitytypecode",),
        states=(*_ACTIVITY_STATES, (3, "Scheduled")),
        statuses=((1, 0, "Open"), (2, 1, "Completed"), (3, 2, "Canceled"), (4, 3, "Scheduled")),
    ),
    TableSpec(
        name="task", entity_set="tasks", primary_id="activityid", primary_name="subject",
        display_name="Task", object_type_code=4212,
        columns=_activity_columns((_c("percentcomplete", "Integer"), _s("category"))),
        lookups=(_regarding("task", "Tasks"),), options=(_PRIORITY,), states=_ACTIVITY_STATES,
        statuses=((2, 0, "Not Started"), (3, 0, "In Progress"), (4, 0, "Waiting on someone else"), (7, 0, "Deferred"),
                  (5, 1, "Completed"), (6, 2, "Canceled")),
    ),
    TableSpec(
        name="phonecall", entity_set="phonecalls", primary_id="activityid", primary_name="subject",
        display_name="Phone Call", object_type_code=4210,
        columns=_activity_columns((_s("phonenumber", "Phone"), _c("directioncode", "Boolean"))),
        lookups=(_regarding("phonecall", "Phonecalls"),), options=(_PRIORITY,), states=_ACTIVITY_STATES,
        statuses=((1, 0, "Open"), (2, 1, "Made"), (4, 1, "Received"), (3, 2, "Canceled")),
    ),
    TableSpec(
        name="email", entity_set="emails", primary_id="activityid", primary_name="subject",
        display_name="Email", object_type_code=4202,
        columns=_activity_columns((_s("sender", "Email"), _s("torecipients"), _c("directioncode", "Boolean"),
                                   _s("messageid"))),
        lookups=(_regarding("email", "Emails"),), options=(_PRIORITY,), states=_ACTIVITY_STATES,
        statuses=((1, 0, "Draft"), (2, 1, "Completed"), (3, 1, "Sent"), (4, 1, "Received"), (6, 1, "Pending Send"),
                  (5, 2, "Canceled"), (8, 2, "Failed")),
    ),
    TableSpec(
        name="activityparty", entity_set="activityparties", primary_id="activitypartyid", primary_name=None,
        display_name="Activity Party", ownership="None", object_type_code=135, system_columns=False,
        columns=(_c("participationtypemask", "Picklist", None, _SR), _s("addressused", "Text"),
                 _c("ispartydeleted", "Boolean")),
        lookups=(
            ("activityid", "Lookup", _N, tuple(
                (t, f"activityid_{t}", f"{t}_activity_parties") for t in ("email", "phonecall", "task")
            )),
            ("partyid", "Lookup", _N, (
                ("account", "partyid_account", "account_activity_parties"),
                ("contact", "partyid_contact", "contact_activity_parties"),
                ("lead", "partyid_lead", "lead_activity_parties"),
                ("systemuser", "partyid_systemuser", "system_user_activity_parties"),
            )),
        ),
        options=(("participationtypemask", ((1, "Sender"), (2, "To Recipient"), (3, "CC Recipient"),
                                            (4, "BCC Recipient"), (5, "Required attendee"), (6, "Optional attendee"),
                                            (7, "Organizer"), (8, "Regarding"), (9, "Owner"), (10, "Resource"),
                                            (11, "Customer"))),),
        read_only=("ispartydeleted",),
    ),
    TableSpec(
        name="annotation", entity_set="annotations", primary_id="annotationid", primary_name="subject",
        display_name="Note", object_type_code=5,
        columns=(_s("subject"), _c("notetext", "Memo", "TextArea"), _s("filename"), _s("mimetype"),
                 _c("isdocument", "Boolean"), _c("objecttypecode", "EntityName"), _c("documentbody", "Memo")),
        lookups=(("objectid", "Lookup", _N, (
            ("account", "objectid_account", "Account_Annotation"),
            ("contact", "objectid_contact", "Contact_Annotation"),
            ("lead", "objectid_lead", "Lead_Annotation"),
            ("opportunity", "objectid_opportunity", "Opportunity_Annotations"),
        )),),
    ),
)
