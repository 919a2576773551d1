"""The emulator's Power Apps connections API (``/providers/Microsoft.PowerApps/connections``) over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from seeder.dataverse import Environment as Client
from seeder.emulator import EmulatorConfig
from tests.emulated.conftest import api_client

AUTH = {"Authorization": "Bearer test-token"}
VERSION = {"api-version": "2016-11-01"}
CONNECTORS = {"/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps",
              "/providers/Microsoft.PowerApps/apis/shared_office365",
              "/providers/Microsoft.PowerApps/apis/shared_sdr-5fticketing-5f3f2a1b7c9d0e4f61"}


def environment_id(url: str) -> str:
    with api_client(url) as api:
        detail = api.get("RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default')")
        assert detail.status_code == 200, detail.text
        data: dict[str, Any] = detail.json()["Detail"]
        assert data["EnvironmentId"] != data["OrganizationId"], "environment name and organisation id differ"
        return str(data["EnvironmentId"])


def connections(url: str, env_id: str | None) -> httpx.Response:
    params = {**VERSION, **({"$filter": f"environment eq '{env_id}'"} if env_id is not None else {})}
    return httpx.get(url + "/providers/Microsoft.PowerApps/connections", params=params, headers=AUTH)


def test_sandbox_with_connections_lists_one_per_connector(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0, seed=3, with_connections=True))
    env_id = environment_id(url)
    response = connections(url, env_id)
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    assert {c["properties"]["apiId"] for c in value} == CONNECTORS
    for conn in value:
        api_name = conn["properties"]["apiId"].rsplit("/", 1)[-1]
        assert conn["id"] == f"/providers/Microsoft.PowerApps/apis/{api_name}/connections/{conn['name']}"
        assert conn["type"] == "Microsoft.PowerApps/apis/connections"
        assert conn["properties"]["statuses"] == [{"status": "Connected"}]
        assert conn["properties"]["environment"]["name"] == env_id
        assert set(conn["properties"]["createdBy"]) >= {"id", "displayName", "userPrincipalName"}
    assert connections(url, "some-other-environment").json()["value"] == []

    again = start_emulator(EmulatorConfig(demo=True, records=0, seed=3, with_connections=True))
    other = start_emulator(EmulatorConfig(demo=True, records=0, seed=4, with_connections=True))
    names = sorted(c["name"] for c in value)
    assert sorted(c["name"] for c in connections(again, environment_id(again)).json()["value"]) == names
    assert sorted(c["name"] for c in connections(other, environment_id(other)).json()["value"]) != names


def test_client_list_connections_reads_the_emulator(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0, with_connections=True))
    with Client.connect(url) as client:
        listed = client.list_connections()
    assert {c["properties"]["apiId"] for c in listed} == CONNECTORS
    assert [c["name"] for c in listed] == sorted(c["name"] for c in listed)


def test_without_connections_and_errors(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0))
    assert connections(url, environment_id(url)).json() == {"value": []}
    no_version = httpx.get(url + "/providers/Microsoft.PowerApps/connections", headers=AUTH)
    assert no_version.status_code == 400 and no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    anonymous = httpx.get(url + "/providers/Microsoft.PowerApps/connections", params=VERSION)
    assert anonymous.status_code == 401
    bad_filter = httpx.get(url + "/providers/Microsoft.PowerApps/connections",
                           params={**VERSION, "$filter": "name eq 'x'"}, headers=AUTH)
    assert bad_filter.status_code == 400 and bad_filter.json()["error"]["code"] == "InvalidFilter"


def test_put_get_delete_connection(emulator_url: str) -> None:
    env_id = environment_id(emulator_url)
    path = emulator_url + "/providers/Microsoft.PowerApps/apis/shared_office365/connections/shared-office365-test1"
    created = httpx.put(path, params=VERSION, headers=AUTH, json={"properties": {
        "displayName": "Outlook (tests)", "environment": {"name": env_id}}})
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["apiId"] == "/providers/Microsoft.PowerApps/apis/shared_office365"
    broken = httpx.put(path, params=VERSION, headers=AUTH, json={"properties": {"statuses": [{"status": "Error"}]}})
    assert broken.status_code == 200 and broken.json()["properties"]["statuses"] == [{"status": "Error"}]
    assert httpx.get(path, params=VERSION, headers=AUTH).json()["properties"]["displayName"] == "shared-office365-test1"
    assert [c["name"] for c in connections(emulator_url, env_id).json()["value"]] == ["shared-office365-test1"]
    wrong_env = httpx.put(path, params=VERSION, headers=AUTH, json={"properties": {"environment": {"name": "x"}}})
    assert wrong_env.status_code == 400
    assert httpx.delete(path, params=VERSION, headers=AUTH).status_code == 200
    missing = httpx.delete(path, params=VERSION, headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ConnectionNotFound"
    assert connections(emulator_url, env_id).json()["value"] == []
