"""When a cloud flow may be turned on: the one activation check every write path goes through.

A ``workflow`` row with ``category`` 5 may move to ``statecode`` 1 only when

* every connection reference named in its ``clientdata`` (``properties.connectionReferences.*.connection
  .connectionReferenceLogicalName``) exists and has a ``connectionid``, and — when the environment has
  any connections at all — that id names a Connected connection; and
* every child flow it calls (actions of type ``Workflow`` with ``inputs.host.workflowReferenceName``,
  at any depth of scopes, conditions, loops and switches) exists and is on.

Otherwise the write is refused with 400 and code ``0x80060467``, the code Dataverse uses when it relays a
flow-service error ("Flow client error returned with status code ... and details ..."). The inner flow
error codes are modelled on the service's: ``ConnectionAuthorizationFailed`` (its text when a connection
"cannot be used to activate this flow") for a reference without a usable connection, and
``ChildFlowNotEnabled`` (a modelling choice; the service's exact text is not documented) for a child flow
that is off. PATCH, ``*Multiple``, ``$batch`` parts and solution import all reach this through
:func:`seeder.emulator.writes.create_row` / ``update_row``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .env import Environment
from .errors import ApiError
from .store import StoredTable

__all__ = ["FLOW_ERROR_CODE", "activation_problems", "check_flow_activation", "child_flows", "flow_references"]

FLOW_ERROR_CODE = "0x80060467"
MODERN_FLOW = 5


def _clientdata(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def flow_references(clientdata: Any) -> list[str]:
    """Logical names of the connection references a flow's ``clientdata`` uses (sorted, unique)."""
    refs = _clientdata(clientdata).get("properties", {}).get("connectionReferences", {})
    names: set[str] = set()
    if isinstance(refs, dict):
        for ref in refs.values():
            conn = ref.get("connection") if isinstance(ref, dict) else None
            name = conn.get("connectionReferenceLogicalName") if isinstance(conn, dict) else None
            if isinstance(name, str) and name:
                names.add(name)
    return sorted(names)


def _actions(actions: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(actions, dict):
        return
    for action in actions.values():
        if not isinstance(action, dict):
            continue
        yield action
        yield from _actions(action.get("actions"))
        for branch in ("else", "default"):
            nested = action.get(branch)
            if isinstance(nested, dict):
                yield from _actions(nested.get("actions"))
        cases = action.get("cases")
        if isinstance(cases, dict):
            for case in cases.values():
                if isinstance(case, dict):
                    yield from _actions(case.get("actions"))


def child_flows(clientdata: Any) -> list[str]:
    """Workflow ids (lower case) of the child flows a flow calls."""
    definition = _clientdata(clientdata).get("properties", {}).get("definition", {})
    out: set[str] = set()
    for action in _actions(definition.get("actions") if isinstance(definition, dict) else None):
        if action.get("type") != "Workflow":
            continue
        host = action.get("inputs", {}).get("host", {}) if isinstance(action.get("inputs"), dict) else {}
        ref = host.get("workflowReferenceName") if isinstance(host, dict) else None
        if isinstance(ref, str) and ref:
            out.add(ref.strip("{}").lower())
    return sorted(out)


def activation_problems(env: Environment, clientdata: Any) -> list[tuple[str, str]]:
    """(inner error code, message) for each reason the flow cannot be on now; empty when it can."""
    from .connections import connection_statuses

    problems: list[tuple[str, str]] = []
    refs_table = env.store.tables.get("connectionreference")
    statuses = connection_statuses(env)
    for logical in flow_references(clientdata):
        row = None
        if refs_table is not None:
            found = env.store.find_by_key("connectionreference", {"connectionreferencelogicalname": logical})
            row = env.store.get("connectionreference", found) if found else None
        if row is None:
            problems.append(("ConnectionAuthorizationFailed",
                             f"The connection reference '{logical}' used by this flow does not exist."))
            continue
        connection = str(row.get("connectionid") or "").strip()
        if not connection:
            problems.append(("ConnectionAuthorizationFailed",
                             f"The connection reference '{logical}' has no connection. Set its connectionid to a "
                             "connection in this environment before turning the flow on."))
        elif statuses and statuses.get(connection.rsplit("/", 1)[-1].lower()) != "Connected":
            problems.append(("ConnectionAuthorizationFailed",
                             f"Connection '{connection}' of connection reference '{logical}' cannot be used to "
                             "activate this flow, either because this is not a valid connection or because it is "
                             "not a connection you have access permission for."))
    for child in child_flows(clientdata):
        row = env.store.get("workflow", child) if "workflow" in env.store.tables else None
        if row is None:
            problems.append(("ChildFlowNotEnabled", f"The child flow '{child}' called by this flow does not exist."))
        elif int(row.get("statecode") or 0) != 1:
            problems.append(("ChildFlowNotEnabled", f"The child flow '{row.get('name') or child}' ({child}) "
                             "called by this flow is not turned on. Turn child flows on before their parents."))
    return problems


def check_flow_activation(env: Environment, st: StoredTable, values: dict[str, Any],
                          current: dict[str, Any] | None) -> None:
    """Raise the service-shaped 400 when ``values`` would turn a cloud flow on that cannot be on."""
    if st.name != "workflow" or values.get("statecode") != 1:
        return
    cur = current or {}
    category = values.get("category", cur.get("category"))
    if category != MODERN_FLOW or cur.get("statecode") == 1:
        return
    problems = activation_problems(env, values.get("clientdata", cur.get("clientdata")))
    if not problems:
        return
    inner_code, inner = problems[0]
    details = json.dumps({"error": {"code": inner_code, "message": inner}})
    raise ApiError(400, FLOW_ERROR_CODE,
                   f'Flow client error returned with status code "BadRequest" and details "{details}".')
