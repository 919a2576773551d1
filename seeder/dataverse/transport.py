"""The one place requests are sent: headers, tokens, retries, throttling and connection pools.

:class:`Transport` owns one httpx client per signed-in user (a "lane", each with its own pool sized to the
concurrency ceiling and a cookie jar that refuses the ARRAffinity cookie so requests spread over web
servers) and a :class:`~seeder.dataverse.throttle.LanePool` that adapts concurrency to 429s. Retry policy:

* 429: always retried (the request did not run), after ``Retry-After``, on whichever lane is free;
* 502/503/504, timeouts, resets: retried only for idempotent requests (GET, PUT, DELETE, PATCH by id, and
  POSTs the caller marks idempotent such as ``UpsertMultiple``); connect failures always (nothing was sent);
* 401: the token is refreshed once.
Every failure leaves as a :class:`~seeder.errors.DataverseError` or :class:`~seeder.errors.AuthError`.
"""

from __future__ import annotations

import http.cookiejar
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from seeder.dataverse.auth import AuthConfig
from seeder.dataverse.credentials import TokenProvider, token_provider
from seeder.dataverse.errors import error_from_response, error_from_transport, parse_retry_after
from seeder.dataverse.throttle import LanePool, ThroughputStats
from seeder.errors import DataverseError, UsageError

__all__ = ["API_PATH", "DEFAULT_CEILING", "Bypass", "Transport"]

API_PATH = "/api/data/v9.2"
DEFAULT_CEILING = 52  # Dataverse's documented concurrent-request limit per user and web server
_TRANSIENT_STATUS = frozenset({502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"})
_CONCURRENCY_CODE = "0x80072326"  # 429 for too many concurrent requests
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Bypass:
    """Headers that skip custom logic during bulk loads (documented Dataverse request headers).

    ``business_logic_execution``: ``"CustomSync"``, ``"CustomAsync"`` or ``"CustomSync,CustomAsync"``
    (needs prvBypassCustomBusinessLogic). ``suppress_callback_registration_expander_job``: don't trigger
    Power Automate flows. ``suppress_duplicate_detection``: ``False`` turns duplicate detection ON (the Web
    API suppresses it by default); ``None`` sends nothing.
    """

    business_logic_execution: str = ""
    suppress_callback_registration_expander_job: bool = False
    suppress_duplicate_detection: bool | None = None

    def __post_init__(self) -> None:
        allowed = {"", "CustomSync", "CustomAsync", "CustomSync,CustomAsync", "CustomAsync,CustomSync"}
        if self.business_logic_execution.replace(" ", "") not in allowed:
            raise UsageError(f"bad BypassBusinessLogicExecution value {self.business_logic_execution!r}",
                             hint="Use CustomSync, CustomAsync or CustomSync,CustomAsync.")

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.business_logic_execution:
            out["MSCRM.BypassBusinessLogicExecution"] = self.business_logic_execution.replace(" ", "")
        if self.suppress_callback_registration_expander_job:
            out["MSCRM.SuppressCallbackRegistrationExpanderJob"] = "true"
        if self.suppress_duplicate_detection is not None:
            out["MSCRM.SuppressDuplicateDetection"] = "true" if self.suppress_duplicate_detection else "false"
        return out


class _RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    """Keeps no cookies at all: the ARRAffinity cookie would pin every request to one web server."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


@dataclass
class _Lane:
    client: httpx.Client
    tokens: TokenProvider
    name: str


def release(response: httpx.Response) -> None:
    """Let a read response be freed as soon as it is dropped. httpx binds a response and its stream to each
    other; that cycle kept every page's body alive until the garbage collector's next full pass, so memory
    grew with the pages read. The body stays available as ``response.content``."""
    response.stream = httpx.ByteStream(b"")


class Transport:
    """Sends Web API requests for one environment over one or more identities."""

    def __init__(
        self,
        url: str,
        auths: Sequence[AuthConfig],
        *,
        bypass: Bypass | None = None,
        max_concurrency: int | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 120.0,
        max_transient_retries: int = 6,
        max_throttle_retries: int = 60,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if not parts.hostname:
            raise UsageError(f"not an environment URL: {url!r}", hint="Use https://ORG.crm.dynamics.com")
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.api = self.base + API_PATH
        self.host = parts.hostname
        self.bypass = bypass or Bypass()
        self.ceiling = max(1, max_concurrency or DEFAULT_CEILING)
        self._sleep = sleep
        self._max_transient = max_transient_retries
        self._max_throttle = max_throttle_retries
        self._lock = threading.Lock()
        self._counts = {"requests": 0, "throttled": 0, "retries": 0, "failures": 0}
        self.dop_hint: int | None = None
        lanes: list[_Lane] = []
        try:
            self._open_lanes(auths, transport, timeout, lanes)
        except BaseException:
            for lane in lanes:
                lane.client.close()
            raise
        self.pool: LanePool[_Lane] = LanePool(lanes, initial=min(4, self.ceiling), ceiling=self.ceiling)

    def _open_lanes(self, auths: Sequence[AuthConfig], transport: httpx.BaseTransport | None, timeout: float,
                    lanes: list[_Lane]) -> None:
        for i, auth in enumerate(auths):
            limits = httpx.Limits(max_connections=self.ceiling, max_keepalive_connections=self.ceiling)
            # TCP_NODELAY: httpcore writes headers and body separately; with Nagle on, the body waits for
            # the server's delayed ACK (~40 ms per request).
            lane_transport = transport or httpx.HTTPTransport(
                limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
            client = httpx.Client(
                transport=lane_transport, timeout=httpx.Timeout(timeout, connect=15.0),
                cookies=http.cookiejar.CookieJar(policy=_RefuseCookies()), follow_redirects=False,
                headers={"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0",
                         "User-Agent": "seeder"},
            )
            try:
                lanes.append(_Lane(client, token_provider(auth, self.base), f"user{i + 1}:{auth.method}"))
            except BaseException:
                client.close()
                raise

    # -- bookkeeping --------------------------------------------------------------------------------
    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def stats(self) -> ThroughputStats:
        with self._lock:
            c = dict(self._counts)
        return ThroughputStats(requests=c["requests"], throttled=c["throttled"], retries=c["retries"],
                               failures=c["failures"], concurrency=self.pool.concurrency(),
                               lanes=len(self.pool.lanes), dop_hint=self.dop_hint)

    def _note_hint(self, response: httpx.Response) -> None:
        if self.dop_hint is not None:
            return
        raw = response.headers.get("x-ms-dop-hint")
        if raw and raw.strip().isdigit():
            self.dop_hint = int(raw)
            self.pool.set_hint(max(1, min(self.dop_hint, self.ceiling)))

    def pause(self, seconds: float) -> None:
        """Sleep (through the injectable clock) between resends of throttled batch parts."""
        if seconds > 0:
            self._sleep(seconds)

    def close(self) -> None:
        for lane in self.pool.lanes:
            lane.client.close()

    def url(self, path: str) -> str:
        """Absolute URL for an API-relative ``path`` (absolute URLs, e.g. nextLinks, pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.api}/{path.lstrip('/')}"

    # -- the request loop ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        expect: Sequence[int] = (),
        what: str = "",
        lane: int | None = None,
    ) -> httpx.Response:
        """Send one request with retries; returns the response when 2xx/3xx or in ``expect``."""
        method = method.upper()
        url = self.url(path)
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        hdrs: dict[str, str] = {}
        if method == "GET":
            hdrs["If-None-Match"] = "null"
        else:
            hdrs.update(self.bypass.headers())
        if json is not None:
            content = orjson.dumps(json)
            hdrs["Content-Type"] = "application/json; charset=utf-8"
        if headers:
            hdrs.update(headers)
        transient = throttles = 0
        refreshed = False
        while True:
            idx = self.pool.acquire(prefer=lane)
            current = self.pool.lane(idx)
            try:
                token = current.tokens.token()
            except BaseException:
                self.pool.release(idx, ok=False)
                raise
            if not (headers and "Authorization" in headers):  # another API's token given by the caller
                hdrs["Authorization"] = f"Bearer {token}"
            self._count("requests")
            try:
                response = current.client.request(method, url, params=params, content=content, headers=hdrs)
                release(response)  # the body is read; drop the stream so nothing keeps the page alive
            except httpx.HTTPError as exc:
                self.pool.release(idx, ok=False)
                # A refused connection is usually a wrong URL: retry it briefly, not for long.
                limit = min(2, self._max_transient) if isinstance(exc, httpx.ConnectError) else self._max_transient
                if (idempotent or isinstance(exc, _NEVER_SENT)) and transient < limit:
                    transient += 1
                    self._count("retries")
                    self._sleep(self._backoff(transient))
                    continue
                self._count("failures")
                raise error_from_transport(exc, url=url) from None
            self._note_hint(response)
            status = response.status_code
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                self.pool.release(idx, retry_after=retry_after,
                                  concurrency_limit=_CONCURRENCY_CODE in response.text[:200])
                self._count("throttled")
                if throttles < self._max_throttle:
                    throttles += 1
                    self._count("retries")
                    continue  # acquire() waits out the pause, or picks another user's lane
                self._count("failures")
                raise error_from_response(response, what=what)
            if status in _TRANSIENT_STATUS and idempotent and transient < self._max_transient:
                self.pool.release(idx, ok=False)
                transient += 1
                self._count("retries")
                retry_after = response.headers.get("retry-after")
                self._sleep(parse_retry_after(retry_after) if retry_after else self._backoff(transient))
                continue
            if status == 401 and not refreshed:
                self.pool.release(idx, ok=False)
                refreshed = True
                current.tokens.invalidate()
                continue
            self.pool.release(idx, ok=status < 500)
            if status < 400 or status in expect:
                return response
            self._count("failures")
            raise error_from_response(response, what=what)

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(min(10.0, 0.2 * (2 ** (attempt - 1))) * (0.5 + random.random() / 2))

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` then decode the JSON body (``{}`` for an empty body)."""
        response = self.request(method, path, **kwargs)
        try:
            if not response.content:
                return {}
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise DataverseError(f"the service returned a body that is not JSON for {method} {path[:80]}",
                                 status=response.status_code, code="bad_json") from None

