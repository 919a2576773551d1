"""The client's Power Platform calls (canvas app sharing, connections) over real HTTP against the emulator, and
the requests it would send to the real Power Apps API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from seeder.dataverse import AuthConfig, Environment
from seeder.emulator import EmulatorConfig, running_emulator
from seeder.errors import DataverseError, UsageError

GROUP = "3b0f2a4c-5d6e-4f70-8192-a3b4c5d6e7f8"
USER = "0f3c5a8e-1d2b-4c6d-8e9f-a1b2c3d4e5f6"


def app_id(env: Environment) -> str:
    rows = list(env.iter_records("canvasapp", select=["uniquecanvasappid"]))
    assert len(rows) == 1
    return str(rows[0]["uniquecanvasappid"])


def roles(env: Environment, app: str) -> dict[tuple[str, str], str]:
    """(principal type, principal id) → role."""
    return {(p["properties"]["principal"]["type"], p["properties"]["principal"]["id"]): p["properties"]["roleName"]
            for p in env.list_app_permissions(app)}


def test_reshare_what_the_source_shared(start_emulator: Callable[..., str]) -> None:
    source_url = start_emulator(EmulatorConfig(demo=True, records=20, seed=7))
    target_url = start_emulator(EmulatorConfig(demo=True, records=0, seed=7))
    with Environment.connect(source_url) as source, Environment.connect(target_url) as target:
        source_app, target_app = app_id(source), app_id(target)
        recorded = source.list_app_permissions(source_app)
        assert [p["name"] for p in recorded] == sorted(p["name"] for p in recorded)
        assert sorted(p["properties"]["principal"]["type"] for p in recorded) == ["Group", "Tenant", "User"]
        assert list(roles(target, target_app).values()) == ["Owner"]  # the copy lost the shares

        for perm in recorded:  # what a re-wiring step does with the snapshot's shares
            props = perm["properties"]
            if props["roleName"] != "Owner":
                target.share_app(target_app, props["principal"], props["roleName"])
        source_shares = {k: v for k, v in roles(source, source_app).items() if v != "Owner"}
        target_shares = {k: v for k, v in roles(target, target_app).items() if v != "Owner"}
        assert target_shares == source_shares and len(target_shares) == 2

        target.share_app(target_app, {"id": USER, "type": "User", "email": "maker@example.com"}, "CanEdit")
        assert roles(target, target_app)[("User", USER)] == "CanEdit"
        target.share_app(target_app, {"id": USER, "type": "User"}, "CanView")  # sharing again changes the role
        assert roles(target, target_app)[("User", USER)] == "CanView"
        target.unshare_app(target_app, USER)
        everyone = next(p for p in target.list_app_permissions(target_app)
                        if p["properties"]["principal"]["type"] == "Tenant")
        target.unshare_app(target_app, everyone["id"])
        assert sorted(roles(target, target_app).values()) == ["CanView", "Owner"]


def test_sharing_errors_are_seeder_errors(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0, seed=7))
    with Environment.connect(url) as env:
        app = app_id(env)
        with pytest.raises(DataverseError) as missing:
            env.list_app_permissions("6a1d2c3b-0000-4000-8000-000000000001")
        assert missing.value.status == 404 and missing.value.code == "ApplicationNotFound"
        with pytest.raises(DataverseError) as foreign:  # a principal from another tenant
            env.share_app(app, {"type": "Tenant", "tenantId": USER}, "CanView")
        assert foreign.value.status == 400
        for principal, role in [({"id": GROUP, "type": "Group"}, "Owner"),
                                ({"id": GROUP, "type": "Robot"}, "CanView"),
                                ({"type": "Group"}, "CanView"),
                                ({"type": "Tenant", "id": "null"}, "CanView"),
                                ({"type": "Tenant", "tenantId": USER}, "CanEdit")]:
            with pytest.raises(UsageError):
                env.share_app(app, principal, role)
        for bad_app in ["", "../connections", "x?y"]:
            with pytest.raises(UsageError):
                env.list_app_permissions(bad_app)
        with pytest.raises(UsageError):
            env.unshare_app(app, "")
        assert list(roles(env, app).values()) == ["Owner"]


def test_unreachable_power_apps_api_is_a_dataverse_error() -> None:
    with running_emulator(EmulatorConfig(demo=True, records=0, seed=7)) as url:
        env = Environment.connect(url)
        app = app_id(env)
        assert env.list_app_permissions(app)  # the environment id is now known
    try:  # the emulator is gone: connection refused, surfaced as the client's own error
        with pytest.raises(DataverseError):
            env.list_app_permissions(app)
        with pytest.raises(DataverseError):
            env.share_app(app, {"id": GROUP, "type": "Group"}, "CanView")
    finally:
        env.close()


def test_real_hosts_get_the_power_apps_routes_and_token() -> None:
    """Against a real environment the calls go to api.powerapps.com (the PowerShell module's routes)."""
    env_id = "0a1b2c3d-0000-4000-8000-00000000e1e1"
    app = "5e6f7a8b-0000-4000-8000-00000000a9a9"
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "org.crm.dynamics.com":
            if request.url.path.endswith("WhoAmI"):
                return httpx.Response(200, json={"UserId": USER, "BusinessUnitId": GROUP, "OrganizationId": GROUP})
            return httpx.Response(200, json={"Detail": {"EnvironmentId": env_id}})
        if request.url.path.endswith("/permissions"):
            return httpx.Response(200, json={"value": [{"name": "b", "id": "x/b"}, {"name": "a", "id": "x/a"}]})
        return httpx.Response(200, json={"put": []})

    auth = AuthConfig(method="none", static_token="token-for-tests")
    with Environment.connect("https://org.crm.dynamics.com", auth, transport=httpx.MockTransport(handler)) as env:
        assert [p["name"] for p in env.list_app_permissions(app)] == ["a", "b"]
        env.share_app(app, {"id": "null", "type": "Tenant", "tenantId": GROUP}, "CanView")
        env.share_app(app, {"id": USER, "type": "User", "displayName": "not sent"}, "CanEdit")
        env.unshare_app(app, f"tenant-{GROUP}")
    platform = [r for r in seen if r.url.host == "api.powerapps.com"]
    assert [(r.method, r.url.path) for r in platform] == [
        ("GET", f"/providers/Microsoft.PowerApps/apps/{app}/permissions"),
        *[("POST", f"/providers/Microsoft.PowerApps/apps/{app}/modifyPermissions")] * 3]
    for request in platform:
        assert request.url.params["api-version"] == "2016-11-01"
        assert request.url.params["$filter"] == f"environment eq '{env_id}'"
        assert request.headers["Authorization"] == "Bearer token-for-tests"
    bodies: list[dict[str, Any]] = [orjson.loads(r.content) for r in platform[1:]]
    assert bodies[0] == {"put": [{"properties": {
        "roleName": "CanView", "capabilities": [], "NotifyShareTargetOption": "DoNotNotify",
        "principal": {"id": "null", "type": "Tenant", "tenantId": GROUP, "email": ""}}}], "delete": []}
    assert bodies[1]["put"][0]["properties"]["principal"] == {"id": USER, "type": "User", "tenantId": "null"}
    assert bodies[2] == {"put": [], "delete": [{"id": f"tenant-{GROUP}"}]}
    # the environment id is read once
    assert sum("RetrieveCurrentOrganization" in r.url.path for r in seen) == 1
