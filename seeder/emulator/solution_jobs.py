"""Solution actions on the Web API: ``ExportSolution``, ``ExportSolutionAsync`` + ``DownloadSolutionExportData``,
``ImportSolution`` and ``ImportSolutionAsync`` (dataverse-protocol.md §9.3–9.5), with their job rows.

Async operations are ``asyncoperations`` rows that start Ready/Waiting (0/0), move to Locked/In progress
(2/20) and end Completed with Succeeded (3/30) or Failed (3/31, ``message`` and ``friendlymessage`` set)
shortly after the request; every import has an ``importjobs`` row with ``progress`` (0–100) and ``data``
(the import log XML). Exported files of async exports are kept in the store (``__solution_exports``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import threading
import time
import uuid
from typing import Any

from .app import add_route
from .env import Environment, now_text
from .errors import ApiError, bad_syntax
from .http import Request, Response, Segment, json_response
from .power_tables import ASYNC_FAILED, ASYNC_IN_PROGRESS, ASYNC_SUCCEEDED
from .solution_export import export_solution
from .solution_import import ImportOutcome, import_package
from .solution_zip import MAX_TOTAL_BYTES, invalid, read_solution_zip
from .writes import WriteBody, create_row

__all__ = ["ASYNC_DELAY_S", "export_action", "import_action"]

ASYNC_DELAY_S = 0.2
"""How long an async job waits before it runs (clients must poll, as against the service)."""


def _body(req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise bad_syntax("The request body must be a JSON object.")
    return body


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise bad_syntax(f"The parameter '{name}' must be a boolean.")
    return value


def _guid(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise bad_syntax(f"The parameter '{name}' is not a GUID.") from None


def _new_row(env: Environment, req: Request, table: str, row_id: str, values: dict[str, Any]) -> None:
    st = env.store.tables[table]
    create_row(env, req, st, WriteBody(values={**values, "startedon": now_text()}, row_id=row_id))


def _set(env: Environment, table: str, row_id: str, values: dict[str, Any]) -> None:
    env.store.update(table, row_id, {**values, "modifiedon": now_text()})


def export_action(env: Environment, req: Request, segs: list[Segment]) -> Response:
    """``ExportSolution`` (sync) and ``ExportSolutionAsync``."""
    body = _body(req)
    name = body.get("SolutionName")
    if not isinstance(name, str) or not name:
        raise bad_syntax("The parameter 'SolutionName' is required.")
    managed = _flag(body, "Managed", False)
    if segs[0].name == "ExportSolution":
        data = export_solution(env, name, managed)
        return json_response(200, {"@odata.context": f"{req.base}$metadata#Microsoft.Dynamics.CRM."
                                   "ExportSolutionResponse", "ExportSolutionFile": base64.b64encode(data).decode()})
    export_solution(env, name, managed)  # fail now for an unknown solution, as the service does
    operation, job = str(uuid.uuid4()), str(uuid.uuid4())
    _new_row(env, req, "asyncoperation", operation, {"name": "ExportSolutionAsync", "statecode": 0, "statuscode": 0})

    def run() -> None:
        _set(env, "asyncoperation", operation, dict(zip(("statecode", "statuscode"), ASYNC_IN_PROGRESS, strict=True)))
        try:
            data = export_solution(env, name, managed)
        except ApiError as err:
            _finish(env, operation, err.message)
            return
        with env.store.lock:
            env.store.conn.execute("CREATE TABLE IF NOT EXISTS __solution_exports (id TEXT PRIMARY KEY, data BLOB)")
            env.store.conn.execute("INSERT OR REPLACE INTO __solution_exports (id, data) VALUES (?, ?)", (job, data))
        _finish(env, operation, None)

    _later(run)
    return json_response(200, {"@odata.context": f"{req.base}$metadata#Microsoft.Dynamics.CRM."
                               "ExportSolutionAsyncResponse", "AsyncOperationId": operation, "ExportJobId": job})


def download_export(env: Environment, req: Request, segs: list[Segment]) -> Response:
    job = _guid(_body(req), "ExportJobId")
    with env.store.lock:
        env.store.conn.execute("CREATE TABLE IF NOT EXISTS __solution_exports (id TEXT PRIMARY KEY, data BLOB)")
        row = env.store.conn.execute("SELECT data FROM __solution_exports WHERE id = ?", (job,)).fetchone()
    if row is None:
        raise ApiError(404, "0x80040217", f"The export job {job} does not exist or has not finished.")
    return json_response(200, {"@odata.context": f"{req.base}$metadata#Microsoft.Dynamics.CRM."
                               "DownloadSolutionExportDataResponse",
                               "ExportSolutionFile": base64.b64encode(bytes(row[0])).decode()})


def _finish(env: Environment, operation: str, error: str | None) -> None:
    state, status = ASYNC_FAILED if error else ASYNC_SUCCEEDED
    _set(env, "asyncoperation", operation, {"statecode": state, "statuscode": status, "completedon": now_text(),
                                            "message": error, "friendlymessage": error})


def _later(job: Any) -> None:
    def delayed() -> None:
        time.sleep(ASYNC_DELAY_S)
        with contextlib.suppress(Exception):  # the emulator may have been stopped while the job waited
            job()

    threading.Thread(target=delayed, name="emulator-async-job", daemon=True).start()


def import_action(env: Environment, req: Request, segs: list[Segment]) -> Response:
    """``ImportSolution`` (204 when done) and ``ImportSolutionAsync`` (``AsyncOperationId`` + ``ImportJobKey``)."""
    body = _body(req)
    encoded = body.get("CustomizationFile")
    if not isinstance(encoded, str) or not encoded:
        raise bad_syntax("The parameter 'CustomizationFile' is required.")
    if len(encoded) > MAX_TOTAL_BYTES // 3 * 4:
        raise invalid("The file is larger than the import limit.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("CustomizationFile is not base64.") from None
    options = {"overwrite": _flag(body, "OverwriteUnmanagedCustomizations", False),
               "publish_workflows": _flag(body, "PublishWorkflows", False),
               "parameters": body.get("ComponentParameters")}
    job = _guid(body, "ImportJobId")
    if env.store.exists("importjob", job):
        raise ApiError(412, "0x80040237", f"An import job with id {job} already exists.")
    inner = dataclasses.replace(req, body=b"")
    if segs[0].name == "ImportSolution":
        package = read_solution_zip(data)
        _new_row(env, req, "importjob", job, {"name": package.unique_name, "solutionname": package.unique_name,
                                              "progress": 0.0})
        _run_import(env, inner, job, data, options)
        return Response(204, records_written=1)
    operation = str(uuid.uuid4())
    _new_row(env, req, "importjob", job, {"name": "ImportSolutionAsync", "progress": 0.0})
    _new_row(env, req, "asyncoperation", operation, {"name": "ImportSolutionAsync", "statecode": 0, "statuscode": 0,
                                                     "correlationid": job})

    def run() -> None:
        _set(env, "asyncoperation", operation, dict(zip(("statecode", "statuscode"), ASYNC_IN_PROGRESS, strict=True)))
        try:
            _run_import(env, inner, job, data, options)
        except ApiError as err:
            _finish(env, operation, err.message)
            return
        except Exception:  # never leave a job running forever
            _finish(env, operation, "The import failed with an unexpected error.")
            return
        _finish(env, operation, None)

    _later(run)
    return json_response(200, {"@odata.context": f"{req.base}$metadata#Microsoft.Dynamics.CRM."
                               "ImportSolutionAsyncResponse", "AsyncOperationId": operation, "ImportJobKey": job})


def _run_import(env: Environment, req: Request, job: str, data: bytes, options: dict[str, Any]) -> None:
    outcome = ImportOutcome("")
    try:
        package = read_solution_zip(data)
        outcome.solution = package.unique_name
        _set(env, "importjob", job, {"solutionname": package.unique_name, "name": package.unique_name,
                                     "progress": 10.0})
        outcome = import_package(env, req, package, **options)
    except ApiError as err:
        _set(env, "importjob", job, {"progress": 100.0, "completedon": now_text(),
                                     "data": outcome.to_xml(False, err.message)})
        raise
    _set(env, "importjob", job, {"progress": 100.0, "completedon": now_text(), "data": outcome.to_xml()})


add_route("POST", "ExportSolution", export_action)
add_route("POST", "ExportSolutionAsync", export_action)
add_route("POST", "DownloadSolutionExportData", download_export)
add_route("POST", "ImportSolution", import_action)
add_route("POST", "ImportSolutionAsync", import_action)
