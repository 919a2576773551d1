"""The route table of the Web API surface (imported once by :func:`make_app`).

Order matters: literal routes (functions, ``$batch``, metadata) come before entity-set routes.
"""

from __future__ import annotations

from . import solution_jobs  # noqa: F401  (registers the solution actions)
from .app import add_route
from .batch import handle_batch
from .env import Environment
from .errors import ApiError, bad_syntax
from .http import Request, Response, Segment, json_response
from .meta_api import entity_definitions, metadata_document, service_document
from .multiple import handle_multiple
from .reads import count_records, get_property, get_record, list_records
from .writes import (
    WriteBody,
    associate,
    delete_record,
    patch_record,
    post_collection,
    put_property,
    resolve_reference,
    update_row,
)

__all__: list[str] = []


def whoami(env: Environment, req: Request, segs: list[Segment]) -> Response:
    org = env.org
    return json_response(200, {"@odata.context": f"{req.base}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                               "BusinessUnitId": org.business_unit_id, "UserId": env.user_id(req.user),
                               "OrganizationId": org.organization_id})


def retrieve_version(env: Environment, req: Request, segs: list[Segment]) -> Response:
    return json_response(200, {"@odata.context": f"{req.base}$metadata#Microsoft.Dynamics.CRM.RetrieveVersionResponse",
                               "Version": env.org.version or "9.2.24101.00000"})


def _org_record(env: Environment) -> dict[str, object]:
    org = env.org
    record: dict[str, object] = {}
    st = env.store.tables.get("organization")
    if st is not None:
        rows = env.store.query(f'SELECT * FROM "{st.sql_name}" LIMIT 1')  # noqa: S608 - identifiers are validated schema names
        if rows:
            from .reads import render_rows

            record = render_rows(env, Request("GET", "", {}, {}, b"", "", ""), st, rows, None, [])[0]
    record.update({"organizationid": org.organization_id, "name": org.name, "version": org.version,
                   # Not an organization-table column on the service (the admin API reports the type);
                   # the emulator exposes it here so safety rails can be tested.
                   "environmenttype": org.environment_type, "isproduction": org.is_production})
    return record


def organizations(env: Environment, req: Request, segs: list[Segment]) -> Response:
    record = _org_record(env)
    select = req.query.get("$select")
    if select:
        keep = {s.strip() for s in select.split(",")} | {"organizationid", "environmenttype", "isproduction"}
        record = {k: v for k, v in record.items() if k in keep or k.startswith("@")}
    return json_response(200, {"@odata.context": f"{req.base}$metadata#organizations", "value": [record]})


def retrieve_current_organization(env: Environment, req: Request, segs: list[Segment]) -> Response:
    org = env.org
    # OrganizationDetail.OrganizationType: Customer = production, CustomerTest = sandbox (SDK enum).
    detail = {"OrganizationId": org.organization_id, "FriendlyName": org.name, "OrganizationVersion": org.version,
              "UrlName": org.name.lower().replace(" ", ""), "UniqueName": org.name.lower().replace(" ", ""),
              "State": "Enabled", "OrganizationType": "Customer" if org.is_production else "CustomerTest",
              # the Power Platform environment name, the id the connections API filters on
              "EnvironmentId": env.environment_id,
              "Endpoints": {"Count": 1, "IsReadOnly": False, "Keys": ["WebApplication"],
                            "Values": [req.base.split("/api/")[0] + "/"]}}
    return json_response(200, {"@odata.context":
                               f"{req.base}$metadata#Microsoft.Dynamics.CRM.RetrieveCurrentOrganizationResponse",
                               "Detail": detail})


def _set(env: Environment, segs: list[Segment]) -> object:
    return env.table_for_set(segs[0].name)


def collection(env: Environment, req: Request, segs: list[Segment]) -> Response:
    st = env.table_for_set(segs[0].name)
    if req.method == "GET":
        return list_records(env, req, st)
    return post_collection(env, req, st)


def record(env: Environment, req: Request, segs: list[Segment]) -> Response:
    st = env.table_for_set(segs[0].name)
    if req.method == "GET":
        return get_record(env, req, st, segs[0])
    if req.method == "PATCH":
        return patch_record(env, req, st, segs[0])
    return delete_record(env, req, st, segs[0])


def count(env: Environment, req: Request, segs: list[Segment]) -> Response:
    return count_records(env, req, env.table_for_set(segs[0].name))


def record_property(env: Environment, req: Request, segs: list[Segment]) -> Response:
    st = env.table_for_set(segs[0].name)
    if req.method == "GET":
        return get_property(env, req, st, segs[0], segs[1].name)
    return put_property(env, req, st, segs[0], segs[1].name)


def ref(env: Environment, req: Request, segs: list[Segment]) -> Response:
    """``POST/PUT/DELETE set(<id>)/nav/$ref`` and ``DELETE set(<id>)/nav(<id>)/$ref``."""
    st = env.table_for_set(segs[0].name)
    row_id, _ = env.resolve(st, segs[0].key or "")
    if row_id is None:
        from .errors import not_found

        raise not_found(st.name, segs[0].key or "")
    nav = segs[1]
    single = env.navs.single.get(st.name, {}).get(nav.name)
    coll = env.navs.collection.get(st.name, {}).get(nav.name)
    if single is None and coll is None:
        raise ApiError(400, "0x0", f"Could not find a property named '{nav.name}' on type "
                       f"'Microsoft.Dynamics.CRM.{st.name}'.")
    if req.method in ("POST", "PUT"):
        body = req.json()
        target_ref = body.get("@odata.id") if isinstance(body, dict) else None
        if not target_ref:
            raise bad_syntax("The $ref body must be {\"@odata.id\": \"<entity URL>\"}.")
        if single is not None:
            if req.method != "PUT":
                raise ApiError(405, "0x80060888", "Use PUT to set a single-valued navigation property with $ref.")
            wb = WriteBody()
            target, target_id = resolve_reference(env, req, target_ref)
            if target not in single.targets:
                raise bad_syntax(f"'{target}' is not a valid target of '{nav.name}'.")
            wb.values = {single.column: target_id, single.column + "__lt": target}
            update_row(env, req, st, row_id, wb)
        else:
            _target, target_id = resolve_reference(env, req, target_ref)
            associate(env, st, row_id, nav.name, target_id)
        return Response(204, records_written=1)
    # DELETE
    if single is not None:
        wb = WriteBody(values={single.column: None, single.column + "__lt": None})
        update_row(env, req, st, row_id, wb)
        return Response(204, records_written=1)
    assert coll is not None
    other_id = nav.key
    if other_id is None:
        target_ref = req.query.get("$id")
        if not target_ref:
            raise bad_syntax("Disassociate needs $id=<entity URL> or nav(<id>)/$ref.")
        _t, other_id = resolve_reference(env, req, target_ref)
    _disassociate(env, st, row_id, coll, other_id.strip().lower())
    return Response(204, records_written=1)


def _disassociate(env: Environment, st: object, row_id: str, coll: object, other_id: str) -> None:
    from .shape import CollectionNav
    from .store import StoredTable

    assert isinstance(st, StoredTable) and isinstance(coll, CollectionNav)
    with env.store.transaction():
        if coll.relationship is None:
            child = env.store.tables[coll.other]
            row = env.store.get(child.name, other_id)
            if row is None or row.get(coll.column) != row_id:
                from .errors import not_found

                raise not_found(child.name, other_id)
            env.store.update(child.name, other_id, {coll.column: None, coll.column + "__lt": None})
            return
        rel = coll.relationship
        mine, theirs = (rel.column1, rel.column2) if coll.self_side == 1 else (rel.column2, rel.column1)
        inter = env.store.tables[rel.intersect_table]
        link = env.store.find_by_key(inter.name, {mine: row_id, theirs: other_id})
        if link is None:
            from .errors import not_found

            raise not_found(coll.other, other_id)
        env.store.delete(inter.name, link)


add_route("GET", "", service_document)
add_route("GET", "$metadata", metadata_document)
add_route("GET", "WhoAmI", whoami)
add_route("GET", "WhoAmI()", whoami)
add_route("GET", "RetrieveVersion", retrieve_version)
add_route("GET", "RetrieveVersion()", retrieve_version)
add_route("GET", "RetrieveCurrentOrganization()", retrieve_current_organization)
add_route("GET", "organizations", organizations)
add_route("GET", "EntityDefinitions/*", entity_definitions)
add_route("GET", "EntityDefinitions()/*", entity_definitions)
add_route("POST", "$batch", handle_batch)
add_route("GET,POST", "SET", collection)
add_route("GET,PATCH,DELETE", "SET()", record)
add_route("GET", "SET/$count", count)
add_route("POST", "SET/ACTION", handle_multiple)
add_route("POST,PUT,DELETE", "SET()/NAME/$ref", ref)
add_route("DELETE", "SET()/NAME()/$ref", ref)
add_route("GET,PUT,DELETE", "SET()/NAME", record_property)
