"""Service-protection limits per user, the simulated cost of requests, and fault injection.

Limits (dataverse-protocol.md §7.1), per user (bearer token), over a sliding window of 300 s / F where F is
``time_scale``: 6,000 / F requests, 1,200 s / F of combined execution time, 52 concurrent requests. As on
the service, the count and time limits trip once they have been exceeded (a request that pushes the total
over still runs; the next one gets the 429), the concurrency limit trips immediately. 429 bodies carry
the documented codes and messages and an integer ``Retry-After``.

Cost: every request is charged ``request + write × records written + read × records read`` milliseconds;
the handler sleeps that long (so it is also real latency) and its measured duration is charged to the
execution-time budget.

Write ceiling for one user (reported by ``/_emulator/stats``)::

    exec_share  = 1,200 s / 300 s = 4        # server-seconds per wall-clock second the budget allows
    per_request = request_ms + B × write_ms  # cost of one *Multiple request carrying B records
    ceiling     = min(exec_share × 1000 × B / per_request,   # execution-time bound
                      (6000 / 300) × B)                      # request-count bound: 20 requests/s
    with B = 1000 records per request (Microsoft's suggested *Multiple batch size).

F cancels out of both bounds: scaling shrinks the window, not the rate.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from .config import CostModel, FaultSpec
from .errors import ApiError

__all__ = ["FaultInjector", "Limiter", "UserBudget", "write_ceiling_records_per_s"]

WINDOW_S = 300.0
MAX_REQUESTS = 6000
MAX_EXECUTION_S = 1200.0
MAX_CONCURRENT = 52
CEILING_BATCH = 1000


def write_ceiling_records_per_s(cost: CostModel, batch: int = CEILING_BATCH) -> float:
    """Records per second one user can write under the limits at ``cost`` (see module docstring)."""
    exec_share = MAX_EXECUTION_S / WINDOW_S
    request_bound = MAX_REQUESTS / WINDOW_S * batch
    per_request = cost.request + batch * cost.write
    if per_request <= 0:
        return request_bound
    return round(min(exec_share * 1000.0 * batch / per_request, request_bound), 1)


@dataclass
class UserBudget:
    """One user's recent requests: (finish time, execution seconds), and requests in flight."""

    entries: deque[tuple[float, float]] = field(default_factory=deque)
    exec_total: float = 0.0
    in_flight: int = 0


class Limiter:
    """Per-user sliding-window counters; thread-safe."""

    def __init__(self, time_scale: float = 1.0, enabled: bool = True) -> None:
        self.enabled = enabled
        self.window = WINDOW_S / time_scale
        self.max_requests = max(1, math.ceil(MAX_REQUESTS / time_scale))
        self.max_execution = MAX_EXECUTION_S / time_scale
        self.lock = threading.Lock()
        self.users: dict[str, UserBudget] = {}

    def _expire(self, budget: UserBudget, now: float) -> None:
        while budget.entries and budget.entries[0][0] <= now - self.window:
            _, spent = budget.entries.popleft()
            budget.exec_total -= spent

    def enter(self, user: str) -> None:
        """Admit a request or raise the 429 ``ApiError`` the service would return."""
        if not self.enabled:
            return
        now = time.monotonic()
        with self.lock:
            budget = self.users.setdefault(user, UserBudget())
            self._expire(budget, now)
            if budget.in_flight >= MAX_CONCURRENT:
                raise _throttle("0x80072326", f"Number of concurrent requests exceeded the limit of {MAX_CONCURRENT}.",
                                1)
            if len(budget.entries) >= self.max_requests:
                wait = budget.entries[0][0] + self.window - now
                raise _throttle("0x80072322", f"Number of requests exceeded the limit of {self.max_requests} over "
                                f"time window of {self.window:g} seconds.", wait)
            if budget.exec_total >= self.max_execution:
                wait = self._time_to_free(budget, now)
                raise _throttle("0x80072321", "Combined execution time of incoming requests exceeded limit of "
                                f"{self.max_execution * 1000:,.0f} milliseconds over time window of "
                                f"{self.window:g} seconds. Decrease number of concurrent requests or reduce the "
                                "duration of requests and try again later.", wait)
            budget.in_flight += 1

    def _time_to_free(self, budget: UserBudget, now: float) -> float:
        excess = budget.exec_total - self.max_execution
        freed = 0.0
        for finished, spent in budget.entries:
            freed += spent
            if freed > excess:
                return finished + self.window - now
        return self.window

    def leave(self, user: str, execution_s: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self.lock:
            budget = self.users.setdefault(user, UserBudget())
            budget.in_flight = max(0, budget.in_flight - 1)
            budget.entries.append((now, execution_s))
            budget.exec_total += execution_s

    def remaining(self, user: str) -> tuple[int, float]:
        """(requests left, execution milliseconds left) in the current window."""
        with self.lock:
            budget = self.users.get(user)
            if budget is None:
                return self.max_requests, self.max_execution * 1000
            return (max(0, self.max_requests - len(budget.entries)),
                    max(0.0, (self.max_execution - budget.exec_total) * 1000))


def _throttle(code: str, message: str, wait_s: float) -> ApiError:
    retry = max(1, math.ceil(wait_s))
    return ApiError(429, code, message, {"Retry-After": str(retry)})


class FaultInjector:
    """Draws at most one fault per request from a seeded RNG: '429', '503', 'reset', 'slow' or None."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def draw(self) -> str | None:
        if not self.spec.any:
            return None
        with self.lock:
            roll = self.rng.random()
        for name, rate in (("429", self.spec.throttle), ("503", self.spec.unavailable),
                           ("reset", self.spec.reset), ("slow", self.spec.slow)):
            if roll < rate:
                return name
            roll -= rate
        return None


def injected_error(fault: str) -> ApiError:
    if fault == "429":
        return _throttle("0x80072322", f"Number of requests exceeded the limit of {MAX_REQUESTS} over time window "
                         f"of {WINDOW_S:g} seconds.", 1)
    return ApiError(503, "0x80040216", "The service is temporarily unavailable. Try again later.",
                    {"Retry-After": "1"})
