"""The emulator's Power Apps app permissions API (``/providers/Microsoft.PowerApps/apps/<app>/...``) over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from seeder.emulator import EmulatorConfig
from seeder.emulator.app_permissions import DEMO_GROUP_ID, TENANT_ID
from tests.emulated.conftest import api_client

AUTH = {"Authorization": "Bearer test-token"}
VERSION = {"api-version": "2016-11-01"}
APPS = "/providers/Microsoft.PowerApps/apps/"
USER = "0f3c5a8e-1d2b-4c6d-8e9f-a1b2c3d4e5f6"


def canvas_app(url: str) -> dict[str, Any]:
    with api_client(url) as api:
        response = api.get("canvasapps", params={"$select": "canvasappid,uniquecanvasappid,name"})
        assert response.status_code == 200, response.text
        apps: list[dict[str, Any]] = response.json()["value"]
    assert len(apps) == 1, apps
    return apps[0]


def permissions(url: str, app: str, **params: str) -> httpx.Response:
    return httpx.get(f"{url}{APPS}{app}/permissions", params={**VERSION, **params}, headers=AUTH)


def modify(url: str, app: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}{APPS}{app}/modifyPermissions", params=VERSION, headers=AUTH, json=body)


def shares(url: str, app: str) -> dict[str, tuple[str, str]]:
    """permission name → (role, principal type)."""
    response = permissions(url, app)
    assert response.status_code == 200, response.text
    return {p["name"]: (p["properties"]["roleName"], p["properties"]["principal"]["type"])
            for p in response.json()["value"]}


def test_production_demo_app_is_shared_with_a_group_and_everyone(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=20, seed=5))
    app = canvas_app(url)["uniquecanvasappid"]
    response = permissions(url, app)
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    assert [p["properties"]["roleName"] for p in value] == ["Owner", "CanView", "CanView"]  # owner first
    by_type = {p["properties"]["principal"]["type"]: p for p in value}
    assert set(by_type) == {"User", "Group", "Tenant"}
    everyone = by_type["Tenant"]
    assert everyone["name"] == f"tenant-{TENANT_ID}"
    assert everyone["properties"]["principal"]["id"] == TENANT_ID
    assert by_type["Group"]["properties"]["principal"]["id"] == DEMO_GROUP_ID
    for perm in value:
        assert perm["id"] == f"{APPS}{app}/permissions/{perm['name']}"
        assert perm["type"] == "Microsoft.PowerApps/apps/permissions"
        assert perm["properties"]["scope"].endswith(f"/apps/{app}")
        assert "notifyShareTargetOption" in perm["properties"]
    # the App ID is case-insensitive and the canvasappid (the Dataverse row id) is not an App ID
    assert permissions(url, app.upper()).json() == response.json()
    assert permissions(url, canvas_app(url)["canvasappid"]).status_code == 404


def test_copied_sandbox_app_has_only_its_owner(start_emulator: Callable[..., str]) -> None:
    source = start_emulator(EmulatorConfig(demo=True, records=20, seed=5))
    sandbox = start_emulator(EmulatorConfig(demo=True, records=0, seed=5))
    src, dst = canvas_app(source), canvas_app(sandbox)
    assert src["canvasappid"] == dst["canvasappid"] and src["uniquecanvasappid"] != dst["uniquecanvasappid"]
    assert list(shares(sandbox, dst["uniquecanvasappid"]).values()) == [("Owner", "User")]
    assert permissions(sandbox, src["uniquecanvasappid"]).status_code == 404  # the source's App ID means nothing here


def test_share_then_unshare(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0, seed=2))
    app = canvas_app(url)["uniquecanvasappid"]
    owner = next(iter(shares(url, app)))
    # the body Set-PowerAppRoleAssignment sends: Everyone as id "null" + tenantId, users with tenantId "null"
    response = modify(url, app, {"delete": [], "put": [
        {"properties": {"roleName": "CanView", "capabilities": [], "NotifyShareTargetOption": "DoNotNotify",
                        "principal": {"email": "", "id": "null", "type": "Tenant", "tenantId": TENANT_ID}}},
        {"properties": {"roleName": "CanView", "capabilities": [], "NotifyShareTargetOption": "DoNotNotify",
                        "principal": {"id": DEMO_GROUP_ID, "type": "Group", "tenantId": "null"}}},
        {"properties": {"roleName": "CanEdit", "principal": {"id": USER, "type": "User",
                                                              "email": "maker@example.com"}}}]})
    assert response.status_code == 200, response.text
    assert len(response.json()["put"]) == 3
    assert shares(url, app) == {owner: ("Owner", "User"), f"tenant-{TENANT_ID}": ("CanView", "Tenant"),
                                DEMO_GROUP_ID: ("CanView", "Group"), USER: ("CanEdit", "User")}
    # sharing again changes the role (CLI for Microsoft 365 "ensure" semantics), not a second entry
    assert modify(url, app, {"put": [{"properties": {"roleName": "CanView",
                                                     "principal": {"id": USER, "type": "User"}}}]}).status_code == 200
    assert shares(url, app)[USER] == ("CanView", "User")
    # unshare: by permission name (CLI for Microsoft 365) and by full permission id (Remove-PowerAppRoleAssignment)
    full_id = f"{APPS}{app}/permissions/tenant-{TENANT_ID}"
    removed = modify(url, app, {"delete": [{"id": USER}, {"id": full_id}, {"id": "not-shared"}]})
    assert removed.status_code == 200, removed.text
    assert sorted(d["id"] for d in removed.json()["delete"]) == sorted([full_id, f"{APPS}{app}/permissions/{USER}"])
    assert shares(url, app) == {owner: ("Owner", "User"), DEMO_GROUP_ID: ("CanView", "Group")}


def test_rejected_changes_leave_the_shares_alone(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=20, seed=5))
    app = canvas_app(url)["uniquecanvasappid"]
    before = shares(url, app)
    owner = next(n for n, (role, _) in before.items() if role == "Owner")
    tenant_edit = {"properties": {"roleName": "CanEdit", "principal": {"type": "Tenant", "tenantId": TENANT_ID}}}
    cases = [
        ({"put": [tenant_edit]}, "InvalidRoleName"),  # Everyone only with CanView
        ({"put": [{"properties": {"roleName": "Owner", "principal": {"id": USER, "type": "User"}}}]},
         "InvalidRoleName"),
        ({"put": [{"properties": {"roleName": "CanView", "principal": {"id": "someone", "type": "User"}}}]},
         "InvalidPrincipal"),
        ({"put": [{"properties": {"roleName": "CanView", "principal": {"id": USER, "type": "Robot"}}}]},
         "InvalidPrincipal"),
        ({"put": [{"properties": {"roleName": "CanView",
                                  "principal": {"type": "Tenant", "tenantId": USER}}}]}, "InvalidTenant"),
        ({"put": [{"properties": {"roleName": "CanView", "principal": {"id": owner, "type": "User"}}}]},
         "CannotChangeOwnerRole"),
        # a valid delete next to an invalid put: nothing happens
        ({"delete": [{"id": DEMO_GROUP_ID}], "put": [tenant_edit]}, "InvalidRoleName"),
        ({"delete": [{"id": owner}]}, "CannotRemoveOwner"),
        ({"put": {"not": "a list"}}, "InvalidRequestContent"),
    ]
    for body, code in cases:
        response = modify(url, app, body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == code, (body, response.text)
    bad_json = httpx.post(f"{url}{APPS}{app}/modifyPermissions", params=VERSION, headers=AUTH, content=b"{no")
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "InvalidRequestContent"
    assert shares(url, app) == before


def test_unknown_apps_auth_and_routing(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0, seed=2))
    app = canvas_app(url)["uniquecanvasappid"]
    missing = permissions(url, "6a1d2c3b-0000-4000-8000-000000000001")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ApplicationNotFound" and missing.json()["error"]["message"]
    assert modify(url, "6a1d2c3b-0000-4000-8000-000000000001", {"put": []}).status_code == 404
    assert permissions(url, "not-a-guid").status_code == 404
    anonymous = httpx.get(f"{url}{APPS}{app}/permissions", params=VERSION)
    assert anonymous.status_code == 401
    assert httpx.post(f"{url}{APPS}{app}/modifyPermissions", params=VERSION, json={}).status_code == 401
    no_version = httpx.get(f"{url}{APPS}{app}/permissions", headers=AUTH)
    assert no_version.status_code == 400 and no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    assert httpx.delete(f"{url}{APPS}{app}/permissions", params=VERSION, headers=AUTH).status_code == 405
    assert httpx.get(f"{url}{APPS}{app}/versions", params=VERSION, headers=AUTH).status_code == 404
    # the environment filter the PowerShell module adds, and the admin scope
    env_id = environment_id(url)
    assert permissions(url, app, **{"$filter": f"environment eq '{env_id}'"}).status_code == 200
    assert permissions(url, app, **{"$filter": "environment eq 'elsewhere'"}).status_code == 404
    assert permissions(url, app, **{"$filter": "name eq 'x'"}).status_code == 400
    admin = f"{url}/providers/Microsoft.PowerApps/scopes/admin/environments/{env_id}/apps/{app}"
    assert httpx.get(f"{admin}/permissions", params=VERSION, headers=AUTH).json() == permissions(url, app).json()
    shared = httpx.post(f"{admin}/modifyPermissions", params=VERSION, headers=AUTH, json={"put": [
        {"properties": {"roleName": "CanView", "principal": {"id": DEMO_GROUP_ID, "type": "Group"}}}]})
    assert shared.status_code == 200 and DEMO_GROUP_ID in shares(url, app)
    other_env = f"{url}/providers/Microsoft.PowerApps/scopes/admin/environments/elsewhere/apps/{app}/permissions"
    assert httpx.get(other_env, params=VERSION, headers=AUTH).status_code == 404
    # the permissions API is not counted against the Dataverse limits but the request is counted
    assert httpx.get(f"{url}/_emulator/stats").json()["throttled"] == 0


def test_shares_survive_a_restart_with_state(start_emulator: Callable[..., str], tmp_path: Path) -> None:
    config = EmulatorConfig(demo=True, records=0, seed=2, state=tmp_path / "state.sqlite")
    url = start_emulator(config)
    app = canvas_app(url)["uniquecanvasappid"]
    assert modify(url, app, {"put": [{"properties": {"roleName": "CanEdit",
                                                     "principal": {"id": USER, "type": "User"}}}]}).status_code == 200
    before = permissions(url, app).json()
    again = start_emulator(config)
    assert permissions(again, app).json() == before


def environment_id(url: str) -> str:
    with api_client(url) as api:
        detail = api.get("RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default')")
        return str(detail.json()["Detail"]["EnvironmentId"])
