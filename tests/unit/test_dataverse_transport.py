"""Transport: retries, throttling, error mapping, headers, cookies — against httpx.MockTransport."""

from __future__ import annotations

import threading

import httpx
import pytest

from seeder.dataverse import AuthConfig, Bypass
from seeder.dataverse.errors import error_from_response
from seeder.dataverse.throttle import LanePool
from seeder.dataverse.transport import Transport
from seeder.errors import DataverseError, Throttled

URL = "https://contoso.crm.dynamics.com"


def make(handler, *, auths=None, **kw) -> Transport:
    return Transport(URL, auths or [AuthConfig()], transport=httpx.MockTransport(handler),
                     sleep=lambda s: None, **kw)


def err(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers)


def test_error_body_becomes_dataverse_error_with_request_id_and_hint():
    t = make(lambda r: err(404, "0x80040217", "account With Id = 1 Does Not Exist",
                           **{"x-ms-service-request-id": "rid-1"}))
    with pytest.raises(DataverseError) as info:
        t.request("GET", "accounts(1)", what="get account")
    e = info.value
    assert (e.status, e.code, e.request_id) == (404, "0x80040217", "rid-1")
    assert "Does Not Exist" in e.message and e.message.startswith("get account")
    assert e.hint


def test_429_is_retried_after_retry_after_and_counted():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return err(429, "0x80072322", "Number of requests exceeded the limit", **{"Retry-After": "0"})
        return httpx.Response(200, json={"ok": True})

    t = make(handler)
    assert t.json("POST", "accounts", json={"name": "x"}) == {"ok": True}  # POST too: 429 never ran
    s = t.stats()
    assert (s.requests, s.throttled, s.retries) == (3, 2, 2)


def test_429_exhausted_raises_throttled_with_retry_after():
    t = make(lambda r: err(429, "0x80072321", "Combined execution time", **{"Retry-After": "0"}),
             max_throttle_retries=2)
    with pytest.raises(Throttled) as info:
        t.request("GET", "accounts")
    assert info.value.retry_after == 0 and info.value.code == "0x80072321"


def test_503_retried_for_get_but_not_for_post():
    seen = {"GET": 0, "POST": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.method] += 1
        if seen[request.method] == 1:
            return err(503, "", "Service Unavailable")
        return httpx.Response(204)

    t = make(handler)
    assert t.request("GET", "accounts").status_code == 204
    with pytest.raises(DataverseError) as info:
        t.request("POST", "accounts", json={})
    assert info.value.status == 503
    assert seen == {"GET": 2, "POST": 1}


def test_connection_reset_retried_only_when_idempotent():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len([m for m in seen if m == request.method]) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(204)

    t = make(handler)
    assert t.request("PATCH", "accounts(1)", json={}).status_code == 204
    with pytest.raises(DataverseError) as info:
        t.request("POST", "accounts", json={})
    assert info.value.status == 0 and info.value.code == "transport"
    assert not isinstance(info.value, httpx.HTTPError)
    # a POST the caller declares idempotent (e.g. UpsertMultiple) is retried
    assert t.request("POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={},
                     idempotent=True).status_code == 204


def test_timeout_becomes_dataverse_error_not_httpx():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out")

    t = make(handler, max_transient_retries=1)
    with pytest.raises(DataverseError) as info:
        t.request("GET", "accounts")
    assert info.value.code == "timeout"


def test_headers_bearer_bypass_and_no_affinity_cookie():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204, headers={"Set-Cookie": "ARRAffinity=abc; Path=/; HttpOnly",
                                            "x-ms-dop-hint": "7"})

    bypass = Bypass(business_logic_execution="CustomSync,CustomAsync",
                    suppress_callback_registration_expander_job=True, suppress_duplicate_detection=False)
    t = make(handler, auths=[AuthConfig(static_token="tok-a")], bypass=bypass)
    t.request("PATCH", "accounts(1)", json={"name": "a"})
    t.request("GET", "accounts")
    patch, get = seen
    assert patch.headers["Authorization"] == "Bearer tok-a"
    assert patch.headers["MSCRM.BypassBusinessLogicExecution"] == "CustomSync,CustomAsync"
    assert patch.headers["MSCRM.SuppressCallbackRegistrationExpanderJob"] == "true"
    assert patch.headers["MSCRM.SuppressDuplicateDetection"] == "false"
    assert patch.headers["OData-Version"] == "4.0"
    assert "cookie" not in get.headers  # ARRAffinity was refused
    assert get.headers["If-None-Match"] == "null"
    assert "MSCRM.BypassBusinessLogicExecution" not in get.headers
    assert t.stats().dop_hint == 7 and t.pool.concurrency() == 7


def test_401_refreshes_token_once():
    n = []

    def handler(request: httpx.Request) -> httpx.Response:
        n.append(1)
        return err(401, "0x80072560", "BadAuthTicket") if len(n) == 1 else httpx.Response(204)

    assert make(handler).request("GET", "WhoAmI").status_code == 204
    assert len(n) == 2


def test_error_from_response_tolerates_non_json_and_oauth_bodies():
    r = httpx.Response(502, text="<html>bad gateway</html>")
    assert error_from_response(r).message.startswith("HTTP 502")
    r = httpx.Response(400, json={"error": "invalid_client", "error_description": "AADSTS7000215 bad secret"})
    e = error_from_response(r)
    assert e.code == "invalid_client" and "AADSTS7000215" in e.message


def test_lane_pool_aimd_decreases_on_throttle_and_grows_on_success():
    pool: LanePool[str] = LanePool(["a"], initial=8, ceiling=16)
    i = pool.acquire()
    pool.release(i, retry_after=0.0, concurrency_limit=True)  # 0x80072326: halve
    assert pool.concurrency() == 4
    i = pool.acquire()
    pool.release(i, retry_after=0.0, concurrency_limit=True)  # same episode within a few ms: not again
    assert pool.concurrency() in (2, 4)
    before = pool.concurrency()
    for _ in range(before * 3):
        pool.release(pool.acquire())
    assert pool.concurrency() > before
    budget: LanePool[str] = LanePool(["a"], initial=10, ceiling=16)
    budget.release(budget.acquire(), retry_after=0.0)  # request-count / execution-time budget: trim
    assert budget.concurrency() == 9


def test_throttle_pauses_the_lane_for_retry_after():
    pool: LanePool[str] = LanePool(["a"], initial=4, ceiling=4)
    pool.release(pool.acquire(), retry_after=0.2)
    assert 0.1 < pool.paused_for(0) <= 0.2
    import time

    start = time.monotonic()
    pool.release(pool.acquire())
    assert time.monotonic() - start >= 0.15


def test_concurrency_429_code_halves_budget_429_trims():
    def handler_for(code: str):
        calls = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(1)
            if len(calls) == 1:
                return err(429, code, "limit", **{"Retry-After": "0"})
            return httpx.Response(204)

        return handler

    t = make(handler_for("0x80072326"), max_concurrency=8)
    t.pool.set_hint(8)
    t.request("GET", "accounts")
    assert t.pool.concurrency() == 4
    t = make(handler_for("0x80072321"), max_concurrency=8)
    t.pool.set_hint(8)
    t.request("GET", "accounts")
    assert t.pool.concurrency() == 7


def test_lane_pool_spreads_over_lanes_and_blocks_at_limit():
    pool: LanePool[str] = LanePool(["a", "b"], initial=1, ceiling=1)
    first, second = pool.acquire(), pool.acquire()
    assert {first, second} == {0, 1}
    got: list[int] = []
    th = threading.Thread(target=lambda: got.append(pool.acquire()))
    th.start()
    th.join(0.05)
    assert not got  # both lanes full
    pool.release(second)
    th.join(2)
    assert got == [second]


def test_fan_out_uses_every_identity():
    tokens = []

    def handler(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers["Authorization"])
        return httpx.Response(204)

    t = make(handler, auths=[AuthConfig(static_token=f"user{i}") for i in range(4)], max_concurrency=1)
    barrier = threading.Barrier(4)

    def go() -> None:
        barrier.wait()
        for _ in range(5):
            t.request("GET", "accounts")

    threads = [threading.Thread(target=go) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(set(tokens)) == 4 and len(tokens) == 20


def test_bad_bypass_value_and_bad_url_are_usage_errors():
    from seeder.errors import UsageError

    with pytest.raises(UsageError):
        Bypass(business_logic_execution="Everything")
    with pytest.raises(UsageError):
        Transport("https://", [AuthConfig()])
    assert Bypass().headers() == {}
    t = Transport("contoso.crm.dynamics.com", [AuthConfig()])
    assert t.api == "https://contoso.crm.dynamics.com/api/data/v9.2"
    assert t.url("accounts") == t.api + "/accounts" and t.url("https://x/y") == "https://x/y"
    t.close()


def test_every_identity_is_checked_on_connect():
    from seeder.dataverse import Environment
    from seeder.errors import AuthError

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer revoked":
            return err(401, "0x80072560", "The user is not a member of the organization.")
        return httpx.Response(200, json={"UserId": "u"}, headers={"x-ms-dop-hint": "2"})

    auths = [AuthConfig(static_token="good"), AuthConfig(static_token="revoked")]
    with pytest.raises(AuthError) as info:
        Environment.connect(URL, auths, transport=httpx.MockTransport(handler))
    assert "not a member" in info.value.message
