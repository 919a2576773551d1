"""write_many: *Multiple, fallback to $batch for unsupported tables and bad rows, resends, modes."""

from __future__ import annotations

import re
import threading
import uuid

import httpx
import orjson
import pytest

from seeder.dataverse import AuthConfig, Environment
from seeder.errors import UsageError

URL = "https://contoso.crm.dynamics.com"
API = "/api/data/v9.2/"
TABLES = {"accounts": ("account", "accountid"), "annotations": ("annotation", "annotationid")}


class FakeDataverse:
    """Just enough Dataverse for bulk writes: UpsertMultiple on accounts only, $batch everywhere."""

    def __init__(self, throttle_every: int = 0) -> None:
        self.rows: dict[str, dict[str, dict]] = {"accounts": {}, "annotations": {}}
        self.lock = threading.Lock()
        self.calls: list[str] = []
        self.n = 0
        self.throttle_every = throttle_every

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path[len(API):]
        with self.lock:
            self.n += 1
            self.calls.append(f"{request.method} {path.split('/')[-1] if 'Multiple' in path else path[:6]}")
            if self.throttle_every and self.n % self.throttle_every == 0:
                return httpx.Response(429, headers={"Retry-After": "0"},
                                      json={"error": {"code": "0x80072322", "message": "Number of requests"}})
        if path == "WhoAmI":
            return httpx.Response(200, json={"UserId": "u", "BusinessUnitId": "b", "OrganizationId": "o"},
                                  headers={"x-ms-dop-hint": "4"})
        if path.startswith("EntityDefinitions(LogicalName="):
            name = re.search(r"'(\w+)'", path).group(1)
            es = next(k for k, v in TABLES.items() if v[0] == name)
            return httpx.Response(200, json={"LogicalName": name, "EntitySetName": es,
                                             "PrimaryIdAttribute": TABLES[es][1]})
        m = re.fullmatch(r"(\w+)/Microsoft\.Dynamics\.CRM\.(\w+)", path)
        if m:
            return self.multiple(m.group(1), m.group(2), orjson.loads(request.content))
        if path == "$batch":
            return self.batch(request)
        return httpx.Response(404, json={"error": {"code": "0x8006088a", "message": "Resource not found"}})

    def bad(self, body: dict) -> bool:
        return len(str(body.get("name", ""))) > 10

    def multiple(self, es: str, message: str, payload: dict) -> httpx.Response:
        if es != "accounts":
            return httpx.Response(400, json={"error": {"code": "0x80040800", "message":
                f"The '{message}' method does not support entities of type '{TABLES[es][0]}'."}})
        targets = payload["Targets"]
        if any("@odata.type" not in t for t in targets):
            return httpx.Response(400, json={"error": {"code": "0x0", "message": "@odata.type missing"}})
        if any(self.bad(t) for t in targets):  # all-or-nothing
            return httpx.Response(400, json={"error": {"code": "0x80044331", "message": "too long"}})
        with self.lock:
            for t in targets:
                self.rows[es][t[TABLES[es][1]]] = {k: v for k, v in t.items() if not k.startswith("@")}
        return httpx.Response(204)

    def batch(self, request: httpx.Request) -> httpx.Response:
        boundary = re.search(r'boundary="?([^";]+)', request.headers["content-type"]).group(1)
        assert request.headers["prefer"] == "odata.continue-on-error"
        out = []
        for piece in request.content.decode().split(f"--{boundary}")[1:-1]:
            m = re.search(r"(PATCH|POST) /api/data/v9\.2/(\w+)(?:\(([^)]+)\))? HTTP/1\.1\r\n(.*?)\r\n\r\n(.*)",
                          piece, re.S)
            _method, es, rid, headers, body = m.groups()
            body = orjson.loads(body.strip() or "{}")
            status, payload = 204, ""
            with self.lock:
                exists = rid in self.rows[es]
                if self.bad(body):
                    status = 400
                    payload = '{"error":{"code":"0x80044331","message":"The length of name exceeded"}}'
                elif "If-None-Match: *" in headers and exists:
                    status = 412
                    payload = ('{"error":{"code":"0x80040237",'
                               '"message":"A record with matching key values already exists."}}')
                elif "If-Match: *" in headers and not exists:
                    status = 404
                    payload = '{"error":{"code":"0x80040217","message":"Does Not Exist"}}'
                else:
                    rid = rid or str(uuid.uuid4())
                    self.rows[es].setdefault(rid, {}).update(body)
            head = f"HTTP/1.1 {status} X\r\n"
            if status == 204:
                head += f"OData-EntityId: https://contoso.crm.dynamics.com{API}{es}({rid})\r\n"
            else:
                head += "REQ_ID: r-1\r\nContent-Type: application/json\r\n"
            out.append("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                       + head + "\r\n" + payload)
        text = "".join(f"--batchresponse_1\r\n{p}\r\n" for p in out) + "--batchresponse_1--\r\n"
        return httpx.Response(200, content=text.encode(),
                              headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"})


def connect(fake: FakeDataverse, **kw) -> Environment:
    return Environment.connect(URL, AuthConfig(), transport=httpx.MockTransport(fake), **kw)


def rows(n: int, bad: set[int] = frozenset()):
    for i in range(n):
        yield f"00000000-0000-0000-0000-{i:012d}", {"name": "x" * 20 if i in bad else f"acc {i}"}


def test_upsert_multiple_writes_everything_in_chunks():
    fake = FakeDataverse()
    with connect(fake) as env:
        results = list(env.write_many("account", rows(250), batch_size=100))
    assert len(results) == 250 and all(r.ok for r in results)
    assert len(fake.rows["accounts"]) == 250
    assert sum(1 for c in fake.calls if c.endswith("UpsertMultiple")) == 3
    assert len({r.id for r in results}) == 250


def test_unsupported_table_falls_back_to_batch_and_remembers():
    fake = FakeDataverse()
    with connect(fake) as env:
        results = list(env.write_many("annotation", rows(30), batch_size=10))
    assert all(r.ok for r in results) and len(fake.rows["annotations"]) == 30
    multiple_calls = [c for c in fake.calls if c.endswith("UpsertMultiple")]
    assert len(multiple_calls) <= 3  # learned after the first failures (chunks run in parallel)
    assert sum(1 for c in fake.calls if "$batch" in c) == 3


def test_bad_rows_are_isolated_through_batch():
    fake = FakeDataverse()
    with connect(fake) as env:
        results = list(env.write_many("account", rows(50, bad={7, 33}), batch_size=25))
    failed = sorted(r.id[-2:] for r in results if not r.ok)
    assert failed == ["07", "33"]
    bad = next(r for r in results if not r.ok)
    assert bad.status == 400 and bad.error["code"] == "0x80044331" and bad.error["request_id"] == "r-1"
    assert len(fake.rows["accounts"]) == 48


def test_create_only_and_update_only_modes_report_per_row():
    fake = FakeDataverse()
    with connect(fake) as env:
        assert all(r.ok for r in env.write_many("annotation", rows(5)))
        again = list(env.write_many("annotation", rows(6), mode="create-only"))
        assert sorted(r.status for r in again) == [204] + [412] * 5
        upd = list(env.write_many("annotation", ((f"00000000-0000-0000-0000-{i:012d}", {"name": "u"})
                                                 for i in (1, 99)), mode="update-only"))
        assert sorted((r.id[-2:], r.status) for r in upd) == [("01", 204), ("99", 404)]
        with pytest.raises(UsageError):
            list(env.write_many("annotation", rows(1), mode="merge"))


def test_throttling_everywhere_still_ends_with_zero_failures():
    fake = FakeDataverse(throttle_every=3)
    with connect(fake) as env:
        results = list(env.write_many("account", rows(400), batch_size=20))
        stats = env.stats
    assert len(results) == 400 and all(r.ok for r in results)
    assert stats.throttled > 0 and stats.retries >= stats.throttled


def test_unsupported_detection_is_not_fooled_by_row_errors():
    from seeder.dataverse.writes import _unsupported
    from seeder.errors import DataverseError

    def e(status, code, message):
        return DataverseError(message, status=status, code=code)

    assert _unsupported(e(400, "0x80040800", "The 'UpsertMultiple' method does not support entities of type "
                                            "'annotation'. MessageProcessorCache returned MessageProcessor.Empty."),
                        "UpsertMultiple")
    assert _unsupported(e(404, "0x8006088a", "Resource not found for the segment 'UpsertMultiple'."),
                        "UpsertMultiple")
    assert _unsupported(e(400, "0x80040800", "DeleteMultiple has not yet been implemented."), "DeleteMultiple")
    assert not _unsupported(e(404, "0x80040217", "account With Id = 1 Does Not Exist"), "UpdateMultiple")
    assert not _unsupported(e(400, "0x80044331", "The value is not supported for column x"), "UpsertMultiple")
