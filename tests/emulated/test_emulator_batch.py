"""$batch over real HTTP: changesets, Content-ID references, stop-on-error and continue-on-error."""

from __future__ import annotations

import re
import uuid

import httpx


def _batch(api: httpx.Client, body: str, boundary: str, prefer: str | None = None) -> httpx.Response:
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    if prefer:
        headers["Prefer"] = prefer
    return api.post("$batch", content=body.replace("\n", "\r\n").encode(), headers=headers)


DOC_EXAMPLE = """--batch_AAA
Content-Type: multipart/mixed; boundary="changeset_BBB"

--changeset_BBB
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

POST /api/data/v9.2/accounts HTTP/1.1
Content-Type: application/json; type=entry

{"name":"Parent"}
--changeset_BBB
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

POST /api/data/v9.2/contacts HTTP/1.1
Content-Type: application/json; type=entry

{"lastname":"Child","parentcustomerid_account@odata.bind":"$1"}
--changeset_BBB
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 3

PATCH $1 HTTP/1.1
Content-Type: application/json; type=entry

{"primarycontactid@odata.bind":"$2"}
--changeset_BBB--

--batch_AAA
Content-Type: application/http
Content-Transfer-Encoding: binary

GET /api/data/v9.2/accounts?$select=name,_primarycontactid_value&$top=1 HTTP/1.1


--batch_AAA--
"""


def test_changeset_with_content_id_references(api: httpx.Client) -> None:
    r = _batch(api, DOC_EXAMPLE, "batch_AAA", "odata.continue-on-error")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert r.text.count("HTTP/1.1 204 No Content") == 3 and "HTTP/1.1 200 OK" in r.text
    assert "changesetresponse_" in r.text and "Content-ID: 2" in r.text
    account = api.get("accounts").json()["value"][0]
    contact = api.get("contacts").json()["value"][0]
    assert contact["_parentcustomerid_value"] == account["accountid"]
    assert account["_primarycontactid_value"] == contact["contactid"]
    assert '"name":"Parent"' in r.text


def _two_part(bad_first: bool) -> str:
    good = '{"name":"ok"}'
    bad = '{"name":"' + "x" * 300 + '"}'
    parts = [bad, good] if bad_first else [good, bad]
    out = ""
    for body in parts:
        out += ("--b\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\n"
                f"POST accounts HTTP/1.1\nContent-Type: application/json\n\n{body}\n")
    return out + "--b--\n"


def test_stop_on_error_and_continue_on_error(api: httpx.Client) -> None:
    r = _batch(api, _two_part(bad_first=True), "b")
    assert r.status_code == 400
    assert r.text.count("HTTP/1.1 ") == 1 and "0x80044331" in r.text
    assert api.get("accounts").json()["value"] == []
    r = _batch(api, _two_part(bad_first=True), "b", "odata.continue-on-error")
    assert r.status_code == 200 and r.headers["Preference-Applied"] == "odata.continue-on-error"
    assert "HTTP/1.1 400 Bad Request" in r.text and "HTTP/1.1 204 No Content" in r.text
    assert len(api.get("accounts").json()["value"]) == 1


def test_changeset_rolls_back(api: httpx.Client) -> None:
    body = ('--b\nContent-Type: multipart/mixed; boundary=cs\n\n'
            '--cs\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 1\n\n'
            'POST accounts HTTP/1.1\nContent-Type: application/json\n\n{"name":"in changeset"}\n'
            '--cs\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 2\n\n'
            f'POST contacts HTTP/1.1\nContent-Type: application/json\n\n'
            f'{{"lastname":"x","parentcustomerid_account@odata.bind":"/accounts({uuid.uuid4()})"}}\n'
            '--cs--\n--b--\n')
    r = _batch(api, body, "b", "odata.continue-on-error")
    assert r.status_code == 200
    assert re.search(r"HTTP/1.1 404", r.text) and "HTTP/1.1 204" not in r.text
    assert api.get("accounts").json()["value"] == []


def test_forward_reference_and_lf_only(api: httpx.Client) -> None:
    body = ('--b\nContent-Type: multipart/mixed; boundary=cs\n\n'
            '--cs\nContent-Type: application/http\nContent-ID: 1\n\n'
            'POST contacts HTTP/1.1\nContent-Type: application/json\n\n'
            '{"lastname":"x","parentcustomerid_account@odata.bind":"$2"}\n--cs--\n--b--\n')
    r = api.post("$batch", content=body.encode(), headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert r.status_code == 400
    assert "Content-ID Reference: '$2' does not exist in the batch context." in r.text
