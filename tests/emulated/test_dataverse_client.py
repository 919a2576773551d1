"""The Dataverse client over real HTTP against the emulator on 127.0.0.1."""

from __future__ import annotations

import uuid

import httpx
import pytest

from seeder.dataverse import AuthConfig, Bypass, Environment, doctor
from seeder.emulator import EmulatorConfig
from seeder.emulator.config import CostModel
from seeder.errors import AuthError, DataverseError
from seeder.metadata import crm_core_schema

NS = uuid.UUID("1f0c1d3e-0000-4000-8000-00000000abcd")


def ids(label: str, n: int) -> list[str]:
    return [str(uuid.uuid5(NS, f"{label}:{i}")) for i in range(n)]


def stats(url: str) -> dict:
    return httpx.get(f"{url}/_emulator/stats").json()


def test_paged_read_follows_next_links_in_primary_id_order(emulator_url):
    with Environment.connect(emulator_url) as env:
        rows = [(i, {"name": f"Account {n}", "emailaddress1": f"a{n}@example.com"})
                for n, i in enumerate(ids("page", 130))]
        assert all(r.ok for r in env.write_many("account", rows, batch_size=40))
        before = env.stats.requests
        got = list(env.iter_records("account", select=["name", "emailaddress1"], page_size=25))
        assert env.stats.requests - before == 6  # 130 rows / 25 per page
        assert [r["accountid"] for r in got] == sorted(i for i, _ in rows)
        assert all("@odata.etag" not in r for r in got)
        assert env.count("account") == 130
        filtered = list(env.iter_records("account", filter="startswith(name,'Account 12')", page_size=5))
        assert sorted(r["name"] for r in filtered) == sorted(f"Account {n}" for n in [12, *range(120, 130)])


def test_single_row_writes_and_upsert_modes(emulator_url):
    with Environment.connect(emulator_url) as env:
        rid = env.create("account", {"name": "Contoso"})
        assert env.get("account", rid)["name"] == "Contoso"
        env.update("account", rid, {"name": "Contoso Ltd"})
        with pytest.raises(DataverseError) as info:
            env.update("account", str(uuid.uuid4()), {"name": "ghost"})
        assert info.value.status == 404
        with pytest.raises(DataverseError) as info:
            env.upsert("account", rid, {"name": "again"}, mode="create-only")
        assert info.value.status == 412
        new_id = str(uuid.uuid4())
        env.upsert("account", new_id, {"name": "Upserted"})
        env.upsert("account", new_id, {"name": "Upserted twice"}, mode="update-only")
        assert env.get("account", new_id)["name"] == "Upserted twice"
        cid = env.create("contact", {"lastname": "Smith", "parentcustomerid_account@odata.bind": f"/accounts({rid})"})
        contact = env.get("contact", cid)
        assert contact["_parentcustomerid_value"] == rid
        assert contact["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
        env.set_state("account", new_id, 1, 2)
        assert env.get("account", new_id)["statecode"] == 1
        lead = env.create("lead", {"lastname": "Prospect"})
        env.associate("account", rid, "accountleads_association", "lead", lead)
        assert env.delete("account", new_id) is True
        assert env.delete("account", new_id) is False
        assert env.get("account", new_id) is None


def test_write_many_at_volume_with_faults_ends_with_zero_failures(start_emulator):
    url = start_emulator(EmulatorConfig(time_scale=300, cost_ms=CostModel(write=0.2, read=0.01, request=0.5),
                                        faults="429=0.08,503=0.05,reset=0.03", seed=7), schema=crm_core_schema())
    bypass = Bypass(business_logic_execution="CustomSync,CustomAsync",
                    suppress_callback_registration_expander_job=True)
    with Environment.connect(url, bypass=bypass) as env:
        rows = [(i, {"name": f"Bulk {n}", "telephone1": "555-0100"}) for n, i in enumerate(ids("bulk", 2000))]
        results = list(env.write_many("account", iter(rows), batch_size=40))
        assert len(results) == 2000 and [r for r in results if not r.ok] == []
        assert sorted(r.id for r in results) == sorted(i for i, _ in rows)
        assert env.stats.retries > 0
        assert env.count("account") == 2000
    s = stats(url)
    assert s["faults_injected"] > 0 and s["records_written"] >= 2000


def test_write_many_isolates_bad_rows_through_batch(emulator_url):
    with Environment.connect(emulator_url) as env:
        rows = [(i, {"name": f"ok {n}"}) for n, i in enumerate(ids("iso", 20))]
        rows[5] = (rows[5][0], {"name": "bad", "not_a_column": 1})
        results = {r.id: r for r in env.write_many("account", rows, batch_size=20)}
        assert [r.id for r in results.values() if not r.ok] == [rows[5][0]]
        assert results[rows[5][0]].status == 400 and results[rows[5][0]].error["code"]
        assert env.count("account") == 19


def test_four_users_are_four_identities(emulator_url):
    auths = [AuthConfig(static_token=f"app-user-{k}") for k in range(4)]
    with Environment.connect(emulator_url, auths, max_concurrency=2) as env:
        rows = [(i, {"name": "x"}) for i in ids("fan", 400)]
        assert all(r.ok for r in env.write_many("account", rows, batch_size=10))
        assert env.stats.lanes == 4


def test_change_tracking_reads_changes_and_deletes(emulator_url):
    with Environment.connect(emulator_url) as env:
        keep, gone = ids("ct", 2)
        env.upsert("account", keep, {"name": "keep"})
        env.upsert("account", gone, {"name": "gone"})
        first = env.iter_changes("account", None)
        assert {r["accountid"] for r in first.records} == {keep, gone} and first.delta_token
        env.update("account", keep, {"name": "kept"})
        env.delete("account", gone)
        later = env.iter_changes("account", first.delta_token)
        assert [r["name"] for r in later.records] == ["kept"]
        assert later.deleted_ids == [gone]
        assert later.delta_token != first.delta_token


def test_fetchxml_pages_with_paging_cookie(emulator_url):
    with Environment.connect(emulator_url) as env:
        list(env.write_many("contact", [(i, {"lastname": f"L{n:03d}"}) for n, i in enumerate(ids("fx", 45))]))
        fetch = ("<fetch><entity name='contact'><attribute name='lastname'/>"
                 "<order attribute='contactid'/></entity></fetch>")
        before = env.stats.requests
        got = list(env.iter_records("contact", fetchxml=fetch, page_size=20))
        assert len(got) == 45 and len({r["contactid"] for r in got}) == 45
        assert env.stats.requests - before == 3


def test_schema_from_metadata_matches_the_built_in_model(emulator_url):
    core = crm_core_schema()
    with Environment.connect(emulator_url) as env:
        schema = env.schema()
    assert set(core.table_names) <= set(schema.table_names)  # the emulator adds system tables
    for table in core.tables:
        got = schema.table(table.name)
        assert (got.entity_set, got.primary_id, got.primary_name) == \
            (table.entity_set, table.primary_id, table.primary_name), table.name
        assert {(c.name, c.type, c.required) for c in got.columns} == \
            {(c.name, c.type, c.required) for c in table.columns}, table.name
        formats = {c.name: c.format for c in got.columns}
        assert all(formats[c.name] == c.format for c in table.columns if c.format), table.name  # Email, Phone..
        assert {(lk.column, tuple((t.table, t.navigation_property) for t in lk.to)) for lk in got.lookups} == \
            {(lk.column, tuple((t.table, t.navigation_property) for t in lk.to)) for lk in table.lookups}, table.name
        assert {(k.name, k.columns) for k in got.keys} == {(k.name, k.columns) for k in table.keys}, table.name
    assert {m.name for m in core.many_to_many} <= {m.name for m in schema.many_to_many}
    customer = schema.table("contact").lookup("parentcustomerid")
    assert customer.targets == ("account", "contact")


def test_org_info_and_doctor_on_production(start_emulator):
    url = start_emulator(EmulatorConfig(production=True), schema=crm_core_schema())
    with Environment.connect(url) as env:
        org = env.org_info()
        assert org.is_production and org.version.startswith("9.") and org.organization_id
        report = doctor(env)
    by_name = {c.name: c for c in report.checks}
    assert report.ok
    assert by_name["environment type"].status == "warn" and by_name["environment type"].hint
    assert by_name["sign-in"].status == "pass" and by_name["parallelism hint"].status == "pass"
    assert by_name["read systemuser"].status == "pass"


def test_doctor_reports_a_refused_sign_in(emulator_url):
    class NoToken(httpx.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            del request.headers["Authorization"]
            return self.inner.handle_request(request)

    with pytest.raises(AuthError):
        Environment.connect(emulator_url, transport=NoToken())
    env = Environment.connect(emulator_url, transport=NoToken(), check=False)
    with env:
        report = doctor(env)
    assert not report.ok and report.checks[0].name == "sign-in" and report.checks[0].status == "fail"
    assert report.checks[0].hint


def test_unreachable_environment_is_a_dataverse_error_not_httpx():
    with pytest.raises(DataverseError) as info:
        Environment.connect("http://127.0.0.1:9")  # discard port: nothing listens
    assert info.value.code == "connect" and info.value.hint


def test_list_connections_of_the_environment(start_emulator):
    url = start_emulator(EmulatorConfig(demo=True, records=0, with_connections=True))
    with Environment.connect(url) as env:
        connections = env.list_connections()
    assert connections, "the demo environment has connections"
    assert [c["name"] for c in connections] == sorted(c["name"] for c in connections)
    assert all(c["id"].startswith("/providers/Microsoft.PowerApps/apis/") for c in connections)


def test_partitioned_read_equals_plain_read(emulator_url):
    rows = [(str(uuid.uuid4()), {"name": f"p{n}"}) for n in range(300)]
    rows += [(f"00000000-0000-0000-0000-{k:x}{n:011x}", {"name": "low"}) for k in range(16) for n in range(3)]
    with Environment.connect(emulator_url) as env:
        assert all(r.ok for r in env.write_many("account", rows))
        plain = [r["accountid"] for r in env.iter_records("account", select=["name"], page_size=40)]
        parted = [r["accountid"] for r in env.iter_records("account", select=["name"], page_size=40,
                                                            partitions=4)]
        assert parted == plain and len(plain) == len(rows)
        some = list(env.iter_records("account", filter="name eq 'low'", partitions=3))
        assert len(some) == 48
        stream = env.iter_records("account", page_size=10, partitions=4)
        next(stream)
        stream.close()  # readers stop; nothing hangs
