"""Replay of the client's cassettes (Microsoft's documented examples), network blocked, record mode none.

Also guards every cassette in ``cassettes/``: no bearer token, no secret, no host other than the scrubbed
placeholder ``contoso.crm.dynamics.com`` (the documentation's own example organisation).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from dataverse_cassettes import ACCOUNT_ID, CASSETTES, ROUTES, connect, drive, make_vcr

from seeder.errors import DataverseError

ALL_CASSETTES = sorted((CASSETTES.parent).rglob("*.yaml")) + sorted((CASSETTES.parent).rglob("*.yml"))
PLACEHOLDER_HOSTS = {"contoso.crm.dynamics.com"}


def replay(name: str):
    with make_vcr("none").use_cassette(f"{name}.yaml", allow_playback_repeats=False) as cassette:
        env = connect(None)  # the real HTTP transport: vcrpy answers, nothing reaches the network
        try:
            result = drive(name, env)
            stats = env.stats
        finally:
            env.close()
        assert cassette.all_played, f"{name}: not every recorded interaction was used"
    return result, stats


def test_every_scenario_has_a_cassette():
    assert {p.stem for p in CASSETTES.glob("*.yaml")} == set(ROUTES)


def test_whoami_sets_concurrency_from_dop_hint():
    who, stats = replay("whoami")
    assert who["UserId"] == "b08ba9b1-e471-ec11-8941-000d3a9933c9"
    assert stats.dop_hint == 4 and stats.concurrency == 4


def test_paged_read_follows_next_link_and_strips_etags():
    rows, stats = replay("paged_read")
    assert [r["fullname"] for r in rows] == ["Yvonne McKay (sample)", "Susanna Stubberod (sample)",
                                             "Nancy Anderson (sample)"]
    assert all("@odata.etag" not in r for r in rows)
    assert rows[2]["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert stats.requests == 3


def test_create_reads_id_from_odata_entityid():
    rid, _ = replay("create")
    assert rid == "7eb682f1-ca75-e511-80d4-00155d2a68d1"


def test_upsert_then_create_only_conflict():
    (status, exc), _ = replay("upsert")
    assert status == 204
    assert isinstance(exc, DataverseError) and (exc.status, exc.code) == (412, "0x80040237")
    assert ACCOUNT_ID in Path(CASSETTES / "upsert.yaml").read_text()


def test_429_is_waited_out_and_retried():
    rows, stats = replay("throttled")
    assert rows[0]["name"] == "A. Datum Corporation (sample)"
    assert stats.throttled == 1 and stats.retries == 1


def test_error_bodies_map_to_dataverse_errors():
    (missing, exc), _ = replay("errors")
    assert missing is None  # 404 on get() means "no such row"
    assert isinstance(exc, DataverseError) and exc.status == 400 and exc.code == "0x0"
    assert "Could not find a property named 'Name'" in exc.message
    assert exc.request_id == "0c4f1a8f-22b3-4c0a-9d0f-3b1b9f4b7a21" and exc.hint


def test_batch_fallback_isolates_the_bad_row():
    results, _ = replay("batch")
    by_id = {r.id[-1]: r for r in results}
    assert by_id["1"].ok and by_id["3"].ok and not by_id["2"].ok
    assert by_id["2"].status == 400 and by_id["2"].error["code"] == "0x80044331"
    assert by_id["2"].error["request_id"] == "5ecd1cb3-1730-4ffc-909c-d44c22270026"


def test_entity_definitions_become_schema():
    schema, _ = replay("entity_definitions")
    contact = schema.table("contact")
    assert contact.column("emailaddress1").format == "Email" and contact.column("telephone1").format == "Phone"
    assert contact.column("lastname").required == "ApplicationRequired"
    assert contact.column("parentcustomeridname") is None
    lk = contact.lookup("parentcustomerid")
    assert [(t.table, t.navigation_property) for t in lk.to] == [
        ("account", "parentcustomerid_account"), ("contact", "parentcustomerid_contact")]
    assert [k.columns for k in contact.keys] == [("emailaddress1",)]


def test_replay_never_touches_the_network_for_unknown_requests():
    import vcr.errors

    with make_vcr("none").use_cassette("whoami.yaml"):
        env = connect(None)
        try:
            with pytest.raises((vcr.errors.CannotOverwriteExistingCassetteException, DataverseError)):
                env.count("account")
        finally:
            env.close()


# -- hygiene of every cassette in the repository ---------------------------------------------------------
_URL = re.compile(r"https?://([A-Za-z0-9.-]+)(?::\d+)?")
_SECRETS = [
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-_.~+/=]{8,}"),
    re.compile(r"eyJ[A-Za-z0-9\-_]{5,}\.[A-Za-z0-9\-_]{5,}\."),  # JWTs
    re.compile(r"(?i)(client_secret|client_assertion|refresh_token|access_token|x-identity-header)"),
    re.compile(r"(?i)^\s*-?\s*authorization:", re.M),
    re.compile(r"(?i)\b(cookie|set-cookie):"),
    re.compile(r"(?i)ARRAffinity="),
]
_DOC_HOSTS = {"go.microsoft.com", "docs.oasis-open.org"}  # links inside documented error/metadata bodies


@pytest.mark.parametrize("path", ALL_CASSETTES, ids=lambda p: p.name)
def test_cassette_has_no_token_secret_or_real_host(path: Path):
    text = path.read_text(encoding="utf-8")
    for pattern in _SECRETS:
        assert not pattern.search(text), f"{path.name}: matches {pattern.pattern}"
    data = yaml.safe_load(text)
    for interaction in data.get("interactions", []):
        host = urlsplit(interaction["request"]["uri"]).hostname
        assert host in PLACEHOLDER_HOSTS, f"{path.name}: request to {host}"
        assert not {k.lower() for k in interaction["request"].get("headers", {})} & {"authorization", "cookie"}
    for host in _URL.findall(text):
        assert host in PLACEHOLDER_HOSTS | _DOC_HOSTS, f"{path.name}: unscrubbed host {host}"


def test_hygiene_check_catches_a_leak(tmp_path: Path):
    leaked = "headers:\n  Authorization:\n  - Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.sig\n"
    assert any(p.search(leaked) for p in _SECRETS)
    assert _URL.findall("uri: https://realorg.crm4.dynamics.com/api") == ["realorg.crm4.dynamics.com"]
