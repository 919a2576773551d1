"""``CreateMultiple`` / ``UpdateMultiple`` / ``UpsertMultiple`` bound to an entity set (dataverse-protocol.md §5.8).

All-or-nothing: every target runs inside one transaction and the first failure rolls back the whole
request. Every target must carry ``@odata.type`` naming the table. Upsert targets are identified by
their primary key or by ``@odata.id`` with an alternate key. ``DeleteMultiple`` answers as the service does
for standard tables.
"""

from __future__ import annotations

from typing import Any

from .env import Environment
from .errors import ApiError, bad_syntax, not_found
from .http import Request, Response, Segment, json_response, split_path
from .store import StoredTable
from .writes import convert_body, create_row, update_row

__all__ = ["handle_multiple"]


def _targets(req: Request, st: StoredTable) -> list[dict[str, Any]]:
    body = req.json()
    targets = body.get("Targets") if isinstance(body, dict) else None
    if not isinstance(targets, list):
        raise bad_syntax("The request body must contain a 'Targets' array.")
    want = f"Microsoft.Dynamics.CRM.{st.name}"
    for i, target in enumerate(targets):
        if not isinstance(target, dict):
            raise bad_syntax(f"Targets[{i}] is not an object.")
        otype = str(target.get("@odata.type", "")).lstrip("#")
        if not otype:
            raise ApiError(400, "0x80040203", f"Targets[{i}] has no @odata.type; every entity in Targets must "
                           f"specify it, for example \"@odata.type\": \"{want}\".")
        if otype != want:
            raise ApiError(400, "0x80040203", f"Targets[{i}] has @odata.type '{otype}'; this message is bound "
                           f"to '{st.table.entity_set}' and needs '{want}'.")
    return targets


def _target_id(env: Environment, req: Request, st: StoredTable, target: dict[str, Any]
               ) -> tuple[str | None, dict[str, Any] | None]:
    ref = target.get("@odata.id")
    if isinstance(ref, str):
        segs = split_path(ref.split("/api/data/")[-1].split("/", 1)[-1] if "/api/data/" in ref else ref.lstrip("/"))
        if len(segs) != 1 or segs[0].key is None or env.table_for_set(segs[0].name).name != st.name:
            raise bad_syntax(f"@odata.id '{ref}' does not address a row of {st.table.entity_set}.")
        return env.resolve(st, segs[0].key)
    pid = target.get(st.primary_id)
    if isinstance(pid, str):
        pid = pid.lower()
        return (pid if env.store.exists(st.name, pid) else None), None
    return None, None


def handle_multiple(env: Environment, req: Request, segs: list[Segment]) -> Response:
    st = env.table_for_set(segs[0].name)
    action = segs[1].name.removeprefix("Microsoft.Dynamics.CRM.")
    if action == "DeleteMultiple":
        raise ApiError(400, "0x80040203", "DeleteMultiple has not yet been implemented.")
    if action not in ("CreateMultiple", "UpdateMultiple", "UpsertMultiple"):
        raise ApiError(404, "0x8006088a", f"Resource not found for the segment '{segs[1].name}'.")
    targets = _targets(req, st)
    ids: list[str] = []
    with env.store.transaction():
        for target in targets:
            if action == "CreateMultiple":
                wb = convert_body(env, req, st, target, creating=True)
                ids.append(create_row(env, req, st, wb))
                continue
            row_id, key_values = _target_id(env, req, st, target)
            if action == "UpdateMultiple":
                if row_id is None:
                    raise not_found(st.name, str(target.get(st.primary_id) or target.get("@odata.id")))
                update_row(env, req, st, row_id, convert_body(env, req, st, target, creating=False))
            elif row_id is not None:
                update_row(env, req, st, row_id, convert_body(env, req, st, target, creating=False))
            else:
                wb = convert_body(env, req, st, target, creating=True)
                for name, value in (key_values or {}).items():
                    wb.values.setdefault(name, value)
                create_row(env, req, st, wb)
    if action == "CreateMultiple":
        return json_response(200, {"@odata.context": f"{req.base}$metadata#Microsoft.Dynamics.CRM."
                                   "CreateMultipleResponse", "Ids": ids}, records_written=len(targets))
    return Response(204, records_written=len(targets))
