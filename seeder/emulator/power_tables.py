"""Tables the emulator adds for solution jobs: ``asyncoperation`` (System Job) and ``importjob``.

Only the columns clients poll are modelled (dataverse-protocol.md §9.4–9.5): an async operation's
``statecode`` (0 Ready, 1 Suspended, 2 Locked, 3 Completed) and ``statuscode`` (0 Waiting for resources,
20 In progress, 30 Succeeded, 31 Failed, 32 Canceled), its ``message``/``friendlymessage``; an import
job's ``progress`` (percent) and ``data`` (the import log XML). Both are read-only through the API.
"""

from __future__ import annotations

from seeder.model import Column, Schema, Table

__all__ = ["ASYNC_COMPLETED", "ASYNC_FAILED", "ASYNC_IN_PROGRESS", "ASYNC_SUCCEEDED", "JOB_TABLES", "job_schema"]

ASYNC_IN_PROGRESS = (2, 20)
ASYNC_SUCCEEDED = (3, 30)
ASYNC_FAILED = (3, 31)
ASYNC_COMPLETED = 3


def _col(name: str, type_: str, fmt: str | None = None) -> Column:
    return Column(name, type_, format=fmt, valid_for_create=False, valid_for_update=False)


_DATES = tuple(_col(n, "DateTime", "DateAndTime") for n in ("createdon", "modifiedon", "startedon", "completedon"))

JOB_TABLES: tuple[Table, ...] = (
    Table(
        name="asyncoperation", entity_set="asyncoperations", primary_id="asyncoperationid", primary_name="name",
        display_name="System Job", ownership="UserOwned", object_type_code=4700, change_tracking=False,
        columns=(Column("asyncoperationid", "Uniqueidentifier", is_primary_id=True, valid_for_update=False),
                 Column("name", "String", is_primary_name=True, max_length=256, valid_for_create=False,
                        valid_for_update=False),
                 _col("operationtype", "Picklist"), _col("statecode", "State"), _col("statuscode", "Status"),
                 _col("message", "Memo"), _col("friendlymessage", "Memo"), _col("correlationid", "Uniqueidentifier"),
                 _col("data", "Memo"), *_DATES),
    ),
    Table(
        name="importjob", entity_set="importjobs", primary_id="importjobid", primary_name="name",
        display_name="Import Job", ownership="OrganizationOwned", object_type_code=9107, change_tracking=False,
        columns=(Column("importjobid", "Uniqueidentifier", is_primary_id=True, valid_for_update=False),
                 Column("name", "String", is_primary_name=True, max_length=256, valid_for_create=False,
                        valid_for_update=False),
                 _col("solutionname", "String"), _col("progress", "Double"), _col("data", "Memo"),
                 _col("operationcontext", "String"), *_DATES),
    ),
)


def job_schema() -> Schema:
    return Schema(tables=JOB_TABLES)
