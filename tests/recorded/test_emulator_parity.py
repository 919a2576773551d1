"""Parity of the emulator with Microsoft's documented Web API exchanges.

Every interaction of every cassette under ``cassettes/`` (the client's, in ``cassettes/dataverse/``, and the
documented examples in ``cassettes/emulator/``) is sent to a fresh emulator over real HTTP on 127.0.0.1: same
method, path and query, the headers that change behaviour (Prefer, If-Match, If-None-Match, Content-Type,
Accept, MSCRM.*) and the same body, after the rows the example presupposes have been written (``SETUPS``:
data in this file, written through the API as a separate user so they cost the replaying user nothing).

What must match the recording:
- the status code;
- the key headers the recording has (OData-EntityId, Location, Retry-After, x-ms-dop-hint, Preference-Applied
  (names), ETag, OData-Version, Content-Type (media type), request-id headers), and Retry-After only on 429s;
  an OData-EntityId naming the id or key the request gave must name the same one;
- JSON bodies: the same set of top-level keys (so ``@odata.context``/``@odata.nextLink``/``@odata.deltaLink``/
  ``@odata.count`` presence matches) and of ``error`` members; for ``value`` arrays the same emptiness and the
  key set of the elements — row by row for entity-set queries with ``$select`` (the service returns exactly
  the selected columns, the primary key and ``@odata.etag``), otherwise the first recorded element against the
  emulator's element of the same LogicalName/SchemaName, where the recording may show fewer keys than the
  emulator (without ``$select`` the service returns every property; the documented examples abbreviate);
- ``$batch``: a multipart response with the same nesting of changesets, number of parts, per-part statuses,
  per-part OData-EntityId presence and per-part JSON shape; ``text/plain`` bodies: an integer.
Values (ids, etags, timestamps, host names) are never compared, except as said for OData-EntityId.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import yaml  # type: ignore[import-untyped]

from seeder.emulator import EmulatorConfig, running_emulator
from seeder.metadata import crm_core_schema
from seeder.model import AlternateKey, Schema, Table

REPO = Path(__file__).resolve().parents[2]
CASSETTE_ROOT = REPO / "cassettes"
ALL_CASSETTES = sorted([*CASSETTE_ROOT.rglob("*.yaml"), *CASSETTE_ROOT.rglob("*.yml")])
HOST = "https://contoso.crm.dynamics.com"
API_PATH = "/api/data/v9.2/"
REPLAY_TOKEN, SETUP_TOKEN = "parity-replay-user", "parity-setup-user"
FORWARDED = {"prefer", "if-match", "if-none-match", "content-type", "accept", "odata-maxversion", "odata-version",
             "consistency", "callerobjectid"}
KEY_HEADERS = ("odata-entityid", "location", "retry-after", "x-ms-dop-hint", "preference-applied", "etag",
               "odata-version", "content-type", "x-ms-service-request-id", "req_id")


# -- what each example presupposes -------------------------------------------------------------------------
@dataclass(frozen=True)
class Write:
    """A write made through the API as the setup user: POST to a set, or PATCH/DELETE a row."""

    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Step:
    """How one interaction is replayed when sending the recorded request once is not enough."""

    why: str
    before: tuple[Write, ...] = ()  # made right before this request
    follow: str | None = None  # send to the URL in this key of the previous emulator body instead
    until_throttled: bool = False  # resend until the emulator answers 429 (the limits are exhausted)
    after_retry_after: bool = False  # wait the previous response's Retry-After first
    ignore_recorded: frozenset[str] = frozenset()  # element keys of the recording not to expect
    element_keys: frozenset[str] | None = None  # the documented element shape, used instead of the recording


@dataclass(frozen=True)
class Setup:
    why: str
    rows: tuple[Write, ...] = ()
    tables: tuple[Table, ...] = ()  # built-in tables extended with the standard columns the example uses
    config: dict[str, Any] = field(default_factory=dict)
    steps: dict[int, Step] = field(default_factory=dict)


def post(entity_set: str, **body: Any) -> Write:
    return Write("POST", entity_set, body)


def _account_with_example_columns() -> Table:
    # the create examples (webapi/create-entity-web-api) use creditonhold (Two options), accountcategorycode
    # (Choice) and address1_latitude (Float): the built-in core schema must carry them
    account = crm_core_schema().table("account")
    assert {"creditonhold", "accountcategorycode", "address1_latitude"} <= {c.name for c in account.columns}
    return account


def _contact_with_email_key() -> Table:
    contact = crm_core_schema().table("contact")
    assert contact is not None
    return replace(contact, keys=(AlternateKey("contact_email_key", ("emailaddress1",)),))


SAMPLE_ACCOUNT = "7eb682f1-ca75-e511-80d4-00155d2a68d1"
ADATUM = post("accounts", accountid="4b757ff7-9c85-ee11-8179-000d3a9933c9", name="A. Datum Corporation (sample)")
THROTTLE_WHY = ("the 429 needs the user's limits exhausted: the emulator runs with --time-scale 300 (a 1 s window, "
                "20 requests) and the recorded request is resent until it is refused; the recorded 429 is "
                "compared with that refusal (status, error shape, Retry-After)")

SETUPS: dict[str, Setup] = {
    "dataverse/whoami.yaml": Setup("WhoAmI needs no data"),
    "dataverse/create.yaml": Setup(
        "the documented create body uses creditonhold and accountcategorycode; the id is generated by the server, "
        "so only the form of OData-EntityId (accounts(<guid>)) is compared", tables=(_account_with_example_columns(),)),
    "dataverse/upsert.yaml": Setup("the upsert targets an existing account, which the create-only PATCH then hits",
                                   rows=(post("accounts", accountid=SAMPLE_ACCOUNT, name="Sample Account"),)),
    "dataverse/errors.yaml": Setup("the 404 needs the row absent and the 400 needs no data"),
    "dataverse/paged_read.yaml": Setup(
        "three contacts in contactid order so that a page of 2 has a nextLink; the second request is the "
        "recorded nextLink verbatim: a paging cookie as the service writes it",
        rows=(post("accounts", accountid=SAMPLE_ACCOUNT, name="Sample Account"),
              post("contacts", contactid="0148c6ec-55a8-eb11-b1b5-000d3a9d1d9f", firstname="Yvonne",
                   lastname="McKay (sample)"),
              post("contacts", contactid="0748c6ec-55a8-eb11-b1b5-000d3a9d1d9f", firstname="Susanna",
                   lastname="Stubberod (sample)"),
              post("contacts", contactid="0d48c6ec-55a8-eb11-b1b5-000d3a9d1d9f", firstname="Nancy",
                   lastname="Anderson (sample)",
                   **{"parentcustomerid_account@odata.bind": f"/accounts({SAMPLE_ACCOUNT})"})),
        steps={2: Step("the recorded second page carries _parentcustomerid_value although $select is "
                       "fullname,contactid; the service returns only selected columns, the key and the etag "
                       "(webapi/query/select-columns), so those two keys are not expected",
                       ignore_recorded=frozenset({"_parentcustomerid_value",
                                                  "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"}))}),
    "dataverse/throttled.yaml": Setup(
        "one account for the read that succeeds after the wait", rows=(ADATUM,), config={"time_scale": 300.0},
        steps={1: Step(THROTTLE_WHY, until_throttled=True),
               2: Step("the retry after waiting Retry-After succeeds", after_retry_after=True)}),
    "dataverse/batch.yaml": Setup(
        "no rows: the PATCHes are upserts. The recorded UpsertMultiple refusal is 0x80040800 (task does not "
        "support the message); the emulator refuses the same request with 400 for the over-long subject; both "
        "are 400 with a Dataverse error body, which is what is compared"),
    "dataverse/entity_definitions.yaml": Setup(
        "the contact alternate key the example lists (contact_email_key on emailaddress1)",
        tables=(_contact_with_email_key(),),
        steps={3: Step("the recording answers the StringAttributeMetadata cast with the Keys example, so its "
                       "elements are not the cast's; the documented shape of a cast with "
                       "$select=LogicalName,FormatName,MaxLength (webapi/query-metadata-web-api) is compared: "
                       "the selected properties and MetadataId",
                       element_keys=frozenset({"LogicalName", "FormatName", "MaxLength", "MetadataId"}))}),
    "emulator/query.yaml": Setup(
        "the two sample accounts the query pages print, Litware with a revenue in US dollars",
        rows=(post("transactioncurrencies", transactioncurrencyid="228f42f8-e646-e111-8eb7-78e7d162ced1",
                   currencyname="US Dollar", isocurrencycode="USD", currencysymbol="$", exchangerate=1.0,
                   currencyprecision=2),
              post("accounts", accountid="4624eff7-53d3-ed11-a7c7-000d3a993550", name="Litware, Inc. (sample)",
                   revenue=20000, **{"transactioncurrencyid@odata.bind":
                                     "/transactioncurrencies(228f42f8-e646-e111-8eb7-78e7d162ced1)"}),
              ADATUM)),
    "emulator/write_conditions.yaml": Setup(
        "the account the update targets (and none with id ...0001); the created id is server-generated, so "
        "the 201 body is compared by shape", tables=(_account_with_example_columns(),),
        rows=(post("accounts", accountid=SAMPLE_ACCOUNT, name="Sample Account"),)),
    "emulator/create_multiple.yaml": Setup("no rows; the Ids are server-generated: shape only"),
    "emulator/change_tracking.yaml": Setup(
        "the two accounts of the initial sync", rows=(
            post("accounts", accountid="60c4e274-0d87-e711-80e5-00155db19e6d", name="Monte Orton",
                 accountnumber="A-1234"),
            post("accounts", accountid="2e451703-c686-e711-80e5-00155db19e6d", name="Coho Winery",
                 accountnumber="A-1235")),
        steps={1: Step("the recorded $deltatoken is the documentation's; the emulator's own deltaLink from the "
                       "initial sync is followed instead, after the update and the delete the example describes",
                       follow="@odata.deltaLink",
                       before=(Write("PATCH", "accounts(60c4e274-0d87-e711-80e5-00155db19e6d)",
                                     {"telephone1": "555000", "fax": "10101"}),
                               Write("DELETE", "accounts(2e451703-c686-e711-80e5-00155db19e6d)")))}),
    "emulator/batch_changeset.yaml": Setup("no rows: the changeset creates them; ids are server-generated"),
    "emulator/associate.yaml": Setup(
        "the account and the opportunity being linked",
        rows=(post("accounts", accountid=SAMPLE_ACCOUNT, name="Sample Account"),
              post("opportunities", opportunityid="00000000-0000-0000-0000-000000000002", name="Sample deal"))),
}


# -- replay ------------------------------------------------------------------------------------------------
def _schema(setup: Setup) -> Schema:
    return crm_core_schema().merge(Schema(tables=setup.tables))


def _write(client: httpx.Client, api: str, write: Write) -> None:
    response = client.request(write.method, api + write.path, json=write.body,
                              headers={"Authorization": f"Bearer {SETUP_TOKEN}"})
    assert response.status_code in (200, 201, 204), f"setup {write.method} {write.path}: {response.text}"


def _send(client: httpx.Client, base: str, request: dict[str, Any], url: str | None = None) -> httpx.Response:
    if url is None:
        split = urlsplit(request["uri"])
        url = base + split.path + (f"?{split.query}" if split.query else "")
    headers = {k: v[0] for k, v in request["headers"].items()
               if k.lower() in FORWARDED or k.lower().startswith("mscrm.")}
    headers["Authorization"] = f"Bearer {REPLAY_TOKEN}"
    body = (request.get("body") or "").replace(HOST, base)
    return client.request(request["method"], url.replace(HOST, base), headers=headers, content=body.encode())


def replay(path: Path) -> Iterator[tuple[int, dict[str, Any], dict[str, Any], httpx.Response, Step | None]]:
    """Yield (index, recorded request, recorded response, emulator response, step) for each interaction."""
    setup = SETUPS[path.relative_to(CASSETTE_ROOT).as_posix()]
    interactions = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    with running_emulator(EmulatorConfig(**setup.config), schema=_schema(setup)) as base, \
            httpx.Client(timeout=30) as client:
        api = base + API_PATH
        for write in setup.rows:
            _write(client, api, write)
        previous: httpx.Response | None = None
        for index, interaction in enumerate(interactions):
            step = setup.steps.get(index)
            request = interaction["request"]
            for write in step.before if step else ():
                _write(client, api, write)
            url = None
            if step and step.follow:
                assert previous is not None
                url = previous.json()[step.follow]
            if step and step.after_retry_after:
                assert previous is not None
                time.sleep(float(previous.headers["Retry-After"]) + 0.05)
            response = _send(client, base, request, url)
            for _ in range(500):
                if not (step and step.until_throttled) or response.status_code == 429:
                    break
                response = _send(client, base, request, url)
            yield index, request, interaction["response"], response, step
            previous = response


# -- comparison --------------------------------------------------------------------------------------------
def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _preferences(value: str) -> set[str]:
    return {p.split("=")[0].strip() for p in re.split(r",(?=[^\"]*(?:\"[^\"]*\"[^\"]*)*$)", value) if p.strip()}


def _entity_tail(url: str) -> str:
    return url.split(API_PATH, 1)[-1]


def compare_headers(recorded: dict[str, Any], request: dict[str, Any], actual: httpx.Response) -> list[str]:
    problems = []
    rec = {k.lower(): str(v[0]) for k, v in recorded["headers"].items()}
    act = {k.lower(): v for k, v in actual.headers.items()}
    for name in KEY_HEADERS:
        if name in rec and name not in act:
            problems.append(f"header {name} missing")
    if "retry-after" in act and "retry-after" not in rec:
        problems.append("unexpected Retry-After")
    if "content-type" in rec and "content-type" in act and _media(rec["content-type"]) != _media(act["content-type"]):
        problems.append(f"content type {act['content-type']!r} != {rec['content-type']!r}")
    if "preference-applied" in rec and "preference-applied" in act:
        missing = _preferences(rec["preference-applied"]) - _preferences(act["preference-applied"])
        if missing:
            problems.append(f"Preference-Applied lacks {sorted(missing)}")
    if "odata-entityid" in rec and "odata-entityid" in act:
        problems += _compare_entity_id(_entity_tail(rec["odata-entityid"]), _entity_tail(act["odata-entityid"]),
                                       unquote(request["uri"]) + (request.get("body") or ""))
    return problems


def _compare_entity_id(recorded: str, actual: str, request_text: str) -> list[str]:
    key = recorded[recorded.find("("):]
    if key and key.strip("()") in request_text:  # the request named the row: the same one must come back
        return [] if actual == recorded else [f"OData-EntityId {actual} != {recorded}"]
    entity_set = recorded.split("(")[0]
    if not re.fullmatch(re.escape(entity_set) + r"\([0-9a-f]{8}-[0-9a-f-]{27}\)", actual):
        return [f"OData-EntityId {actual} is not {entity_set}(<guid>)"]
    return []


def _match(element: dict[str, Any], candidates: list[Any]) -> dict[str, Any]:
    for name in ("LogicalName", "SchemaName"):
        if name in element:
            for candidate in candidates:
                if isinstance(candidate, dict) and candidate.get(name) == element[name]:
                    return candidate
    first: dict[str, Any] = candidates[0]
    return first


def compare_json(rec: Any, act: Any, request: dict[str, Any], step: Step | None) -> list[str]:
    if not isinstance(rec, dict) or not isinstance(act, dict):
        return [] if type(rec) is type(act) else [f"body is {type(act).__name__}, expected {type(rec).__name__}"]
    problems = []
    if set(rec) != set(act):
        problems.append(f"top-level keys differ: missing {sorted(set(rec) - set(act))}, "
                        f"extra {sorted(set(act) - set(rec))}")
    if isinstance(rec.get("error"), dict) and isinstance(act.get("error"), dict) and \
            set(rec["error"]) != set(act["error"]):
        problems.append(f"error members {sorted(act['error'])} != {sorted(rec['error'])}")
    rec_rows, act_rows = rec.get("value"), act.get("value")
    if not isinstance(rec_rows, list) or not isinstance(act_rows, list):
        return problems
    if bool(rec_rows) != bool(act_rows):
        return [*problems, f"value has {len(act_rows)} rows, recording {len(rec_rows)}"]
    if not rec_rows:
        return problems
    split = urlsplit(request["uri"])
    selected = "$select=" in unquote(split.query)
    metadata = "Definitions" in split.path
    if selected and not metadata:
        if len(rec_rows) != len(act_rows):
            return [*problems, f"value has {len(act_rows)} rows, recording {len(rec_rows)}"]
        pairs = list(zip(rec_rows, act_rows, strict=True))
    else:
        pairs = [(rec_rows[0], _match(rec_rows[0], act_rows))]
    ignored = step.ignore_recorded if step else frozenset()
    for number, (r, a) in enumerate(pairs):
        want, got = set(r) - ignored, set(a)
        if step and step.element_keys is not None:
            extra = {k for k in got - step.element_keys if not k.startswith("@")}
            if not step.element_keys <= got or extra:
                problems.append(f"element keys {sorted(got)} != documented {sorted(step.element_keys)}")
        elif selected and want != got:
            problems.append(f"row {number} keys: missing {sorted(want - got)}, extra {sorted(got - want)}")
        elif not selected and not want <= got:
            problems.append(f"element lacks {sorted(want - got)}")
    return problems


def _boundary(content_type: str) -> str:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    assert m, content_type
    return m.group(1)


def _split_head(text: str) -> tuple[str, str]:
    """(headers, rest) of a MIME part or HTTP message: split at the first blank line (CRLF or LF)."""
    m = re.search(r"\r?\n\r?\n", text)
    return (text[:m.start()], text[m.end():]) if m else (text, "")


def parse_multipart(body: str, content_type: str) -> list[Any]:
    """Batch response → nested list: a changeset is a list, a part is (status, header names, body text)."""
    out: list[Any] = []
    boundary = _boundary(content_type)
    for chunk in re.split(r"--" + re.escape(boundary) + r"(?:--)?", body)[1:]:
        chunk = chunk.lstrip("\r\n")
        if not chunk.strip():
            continue
        head, rest = _split_head(chunk)
        part_type = re.search(r"(?im)^content-type:\s*(.+?)\s*$", head)
        if part_type and _media(part_type.group(1)) == "multipart/mixed":
            out.append(parse_multipart(rest, part_type.group(1)))
            continue
        http_head, http_body = _split_head(rest.lstrip("\r\n"))
        lines = http_head.splitlines()
        status = int(lines[0].split()[1])
        names = {line.split(":", 1)[0].strip().lower() for line in lines[1:] if ":" in line}
        out.append((status, names, http_body.strip()))
    return out


def _layout(parts: list[Any]) -> list[Any]:
    return [_layout(p) if isinstance(p, list) else p[0] for p in parts]


def _flat(parts: list[Any]) -> list[tuple[int, set[str], str]]:
    return [leaf for p in parts for leaf in (_flat(p) if isinstance(p, list) else [p])]


def compare_batch(recorded: dict[str, Any], actual: httpx.Response, request: dict[str, Any]) -> list[str]:
    rec = parse_multipart(recorded["body"]["string"], recorded["headers"]["content-type"][0])
    act = parse_multipart(actual.text, actual.headers["content-type"])
    if _layout(rec) != _layout(act):
        return [f"batch parts {_layout(act)} != recorded {_layout(rec)}"]
    problems = []
    for number, (r, a) in enumerate(zip(_flat(rec), _flat(act), strict=True)):
        for name in ("odata-entityid", "location"):
            if name in r[1] and name not in a[1]:
                problems.append(f"part {number}: {name} missing")
        if r[2].startswith("{"):
            problems += [f"part {number}: {p}" for p in compare_json(json.loads(r[2]), json.loads(a[2]),
                                                                    request, None)]
    return problems


def compare(recorded: dict[str, Any], request: dict[str, Any], actual: httpx.Response, step: Step | None) -> list[str]:
    status = recorded["status"]["code"]
    if actual.status_code != status:
        return [f"status {actual.status_code} != {status}: {actual.text[:300]}"]
    problems = compare_headers(recorded, request, actual)
    content_type = str(recorded["headers"].get("content-type", [""])[0])
    body = recorded["body"]["string"]
    if _media(content_type) == "application/json":
        problems += compare_json(json.loads(body), actual.json(), request, step)
    elif _media(content_type) == "multipart/mixed":
        problems += compare_batch(recorded, actual, request)
    elif _media(content_type) == "text/plain":
        if not actual.text.strip().isdigit():
            problems.append(f"text body {actual.text!r} is not a count")
    elif not body and actual.content:
        problems.append(f"expected no body, got {actual.text[:200]!r}")
    return problems


# -- tests -------------------------------------------------------------------------------------------------
def test_every_cassette_has_a_parity_setup() -> None:
    names = {p.relative_to(CASSETTE_ROOT).as_posix() for p in ALL_CASSETTES}
    assert names == set(SETUPS), f"cassettes without a setup: {sorted(names - set(SETUPS))}, " \
                                 f"setups without a cassette: {sorted(set(SETUPS) - names)}"
    assert any(n.startswith("emulator/") for n in names) and any(n.startswith("dataverse/") for n in names)


@pytest.mark.parametrize("path", ALL_CASSETTES, ids=lambda p: p.relative_to(CASSETTE_ROOT).as_posix())
def test_emulator_answers_like_the_recording(path: Path) -> None:
    problems = []
    count = 0
    for index, request, recorded, actual, step in replay(path):
        count += 1
        label = f"#{index} {request['method']} {unquote(urlsplit(request['uri']).path)}"
        problems += [f"{label}: {p}" for p in compare(recorded, request, actual, step)]
    assert count and not problems, "\n".join(problems)


def test_comparison_notices_a_shape_difference() -> None:
    request = {"uri": f"{HOST}/api/data/v9.2/accounts?$select=name", "method": "GET", "body": ""}
    recorded = {"@odata.context": "x", "value": [{"@odata.etag": "1", "name": "a", "accountid": "1"}]}
    assert compare_json(recorded, {**recorded, "@odata.nextLink": "y"}, request, None)
    assert compare_json(recorded, {"@odata.context": "x", "value": [{"name": "a", "accountid": "1"}]}, request, None)
    assert compare_json(recorded, {"@odata.context": "x", "value": []}, request, None)
    assert not compare_json(recorded, json.loads(json.dumps(recorded)), request, None)


def test_comparison_notices_batch_and_header_differences() -> None:
    ok = "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\nOData-EntityId: u\r\n\r\n\r\n"
    bad = "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 400 Bad Request\r\n\r\n{\"error\":{}}\r\n"
    recorded = {"body": {"string": ok + ok + "--b--\r\n"}, "headers": {"content-type": ["multipart/mixed; boundary=b"]}}
    request = {"uri": f"{HOST}/api/data/v9.2/$batch", "method": "POST", "body": ""}
    actual = httpx.Response(200, text=ok + bad + "--b--\r\n", headers={"content-type": "multipart/mixed; boundary=b"})
    assert compare_batch(recorded, actual, request) == ["batch parts [204, 400] != recorded [204, 204]"]
    throttled = {"headers": {"retry-after": ["1"]}, "status": {"code": 429}, "body": {"string": ""}}
    assert compare_headers(throttled, request, httpx.Response(429)) == ["header retry-after missing"]
    assert _compare_entity_id("accounts(7eb682f1-ca75-e511-80d4-00155d2a68d1)", "accounts(k='1')", "") != []
