"""Readers: FetchXML paging cookies, change-tracking responses, function URLs — with documented shapes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from lxml import etree

from seeder.dataverse import AuthConfig, Environment
from seeder.dataverse.environment import odata_literal
from seeder.dataverse.reads import partition_bounds
from seeder.errors import DataverseError, UsageError
from seeder.model import Schema, Table

URL = "https://contoso.crm.dynamics.com"
API = f"{URL}/api/data/v9.2"
# The documented shape: the pagingcookie attribute is URL-encoded twice.
COOKIE = ('<cookie pagenumber="2" pagingcookie="%253ccookie%2520page%253d%25221%2522%253e%253caccountid%2520'
          'last%253d%2522%257bAAA19CDD-88DF-E311-B8E5-6C3BE5A8B200%257d%2522%2520first%253d%2522%257b475'
          'B158C-541C-E511-80D3-3863BB347BA8%257d%2522%2520%252f%253e%253c%252fcookie%253e" istracking="False" />')


def connect(handler) -> Environment:
    env = Environment.connect(URL, AuthConfig(), transport=httpx.MockTransport(handler), check=False)
    env.register_schema(Schema(tables=(Table("account", "accounts", "accountid"),)))
    return env


def test_fetchxml_paging_cookie_is_decoded_twice_and_page_advances():
    seen: list[etree._Element] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetch = etree.fromstring(request.url.params["fetchXml"].encode())
        seen.append(fetch)
        assert "fetchxmlpagingcookie" in request.headers["prefer"]
        if fetch.get("page") == "1":
            return httpx.Response(200, json={"value": [{"accountid": "1"}, {"accountid": "2"}],
                                             "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie": COOKIE,
                                             "@Microsoft.Dynamics.CRM.morerecords": True})
        return httpx.Response(200, json={"value": [{"accountid": "3"}],
                                         "@Microsoft.Dynamics.CRM.morerecords": False})

    with connect(handler) as env:
        rows = list(env.iter_records("account", fetchxml="<fetch><entity name='account'/></fetch>", page_size=2))
    assert [r["accountid"] for r in rows] == ["1", "2", "3"]
    assert seen[0].get("count") == "2" and seen[0].get("paging-cookie") is None
    assert seen[1].get("page") == "2"
    assert seen[1].get("paging-cookie") == (
        '<cookie page="1"><accountid last="{AAA19CDD-88DF-E311-B8E5-6C3BE5A8B200}" '
        'first="{475B158C-541C-E511-80D3-3863BB347BA8}" /></cookie>')


def test_bad_fetchxml_is_a_usage_error():
    with connect(lambda r: httpx.Response(500)) as env, pytest.raises(UsageError):
        list(env.iter_records("account", fetchxml="<fetch><entity"))


def test_change_tracking_documented_delta_response():
    def handler(request: httpx.Request) -> httpx.Response:
        params = parse_qs(urlsplit(str(request.url)).query)
        if "$deltatoken" not in params:
            assert "odata.track-changes" in request.headers["prefer"]
            return httpx.Response(200, json={
                "@odata.context": f"{API}/$metadata#accounts(name)",
                "@odata.deltaLink": f"{API}/accounts?$select=name&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44",
                "value": [{"@odata.etag": "W/\"915244\"", "name": "Monte Orton",
                           "accountid": "60c4e274-0d87-e711-80e5-00155db19e6d"}]})
        assert params["$deltatoken"] == ["919042!08/22/2017 08:10:44"]
        return httpx.Response(200, json={
            "@odata.context": f"{API}/$metadata#accounts(name)/$delta",
            "@odata.deltaLink": f"{API}/accounts?$select=name&$deltatoken=919058%2108%2f22%2f2017%2008%3a21%3a20",
            "value": [{"@odata.etag": "W/\"915244\"", "name": "Monte Orton", "accountid": "60c4e274"},
                      {"@odata.context": f"{API}/$metadata#accounts/$deletedEntity",
                       "id": "2e451703-c686-e711-80e5-00155db19e6d", "reason": "deleted"}]})

    with connect(handler) as env:
        first = env.iter_changes("account", None, select=["name"])
        assert first.delta_token == "919042!08/22/2017 08:10:44" and len(first.records) == 1
        later = env.iter_changes("account", first.delta_token, select=["name"])
    assert later.deleted_ids == ["2e451703-c686-e711-80e5-00155db19e6d"]
    assert [r["name"] for r in later.records] == ["Monte Orton"] and "@odata.etag" not in later.records[0]
    assert later.delta_token == "919058!08/22/2017 08:21:20"


def test_no_delta_link_is_a_dataverse_error_with_hint():
    with connect(lambda r: httpx.Response(200, json={"value": []})) as env:
        with pytest.raises(DataverseError) as info:
            env.iter_changes("account", None)
    assert "ChangeTrackingEnabled" in info.value.hint


def test_function_parameters_use_aliases_and_literals():
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"EntityRecordCountCollection": {"Count": 1}})

    with connect(handler) as env:
        env.function("RetrieveTotalRecordCount", EntityNames=["account", "contact"])
        env.function("WhoAmI")
    assert seen[0].path.endswith("/RetrieveTotalRecordCount(EntityNames=@p1)")
    assert seen[0].params["@p1"] == "['account','contact']"
    assert seen[1].path.endswith("/WhoAmI")
    assert odata_literal("O'Neil") == "'O''Neil'" and odata_literal(True) == "true" and odata_literal(None) == "null"


def test_partition_bounds_are_sorted_both_ways():
    bounds = partition_bounds(4)
    assert len(bounds) == 3 and bounds == sorted(bounds)
    assert bounds[0] == "00000000-0000-0000-0000-400000000000"
