"""Adaptive concurrency: one AIMD window per signed-in user ("lane"), shared by all worker threads.

Dataverse's service-protection limits are per user, so each lane (one identity, one token, one connection
pool) has its own window. It starts at the service's ``x-ms-dop-hint``, grows by one slot per window of
successes (additive increase, probing for capacity), halves on a 429 (multiplicative decrease, at most once
per congestion episode) and pauses the lane for ``Retry-After``. :meth:`LanePool.acquire` hands a worker the
lane with the most headroom, so several app users share the load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["LanePool", "LaneState", "ThroughputStats"]

T = TypeVar("T")

CONCURRENCY_DECREASE = 0.5  # 429 0x80072326: too many concurrent requests
BUDGET_DECREASE = 0.9  # 429 0x80072322 / 0x80072321: request-count or execution-time budget spent


@dataclass(frozen=True)
class ThroughputStats:
    """Counters for one Environment: requests sent, 429s seen, retries made, current concurrency."""

    requests: int = 0
    throttled: int = 0
    retries: int = 0
    concurrency: int = 0
    failures: int = 0
    lanes: int = 1
    dop_hint: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class LaneState:
    """The AIMD window of one lane. Mutated only under the pool's condition lock."""

    def __init__(self, initial: float, floor: float, ceiling: float) -> None:
        self.limit = max(floor, min(ceiling, initial))
        self.floor = floor
        self.ceiling = ceiling
        self.in_flight = 0
        self.paused_until = 0.0
        self.last_decrease = 0.0
        self.successes = 0.0

    def headroom(self, now: float) -> float:
        if now < self.paused_until:
            return 0.0
        return self.limit - self.in_flight

    def on_success(self) -> None:
        self.successes += 1
        if self.successes >= self.limit:  # one slot more per window's worth of successes
            self.successes = 0
            self.limit = min(self.ceiling, self.limit + 1)

    def on_throttle(self, now: float, retry_after: float, factor: float) -> None:
        self.paused_until = max(self.paused_until, now + retry_after)
        # One decrease per episode: 429s already in flight when we backed off don't count twice.
        if now - self.last_decrease > max(retry_after, 0.05):
            self.limit = max(self.floor, self.limit * factor)
            self.last_decrease = now
            self.successes = 0


class LanePool(Generic[T]):
    """Hands out lanes (with a slot reserved) to worker threads, respecting each lane's window."""

    def __init__(self, lanes: Sequence[T], *, initial: int, ceiling: int, floor: int = 1) -> None:
        self._lanes = list(lanes)
        self._states = [LaneState(float(initial), float(floor), float(ceiling)) for _ in lanes]
        self._cond = threading.Condition()
        self._rr = 0

    @property
    def lanes(self) -> list[T]:
        return list(self._lanes)

    def set_hint(self, dop_hint: int) -> None:
        """Restart every window at the service's recommended degree of parallelism."""
        with self._cond:
            for st in self._states:
                st.limit = max(st.floor, min(st.ceiling, float(dop_hint)))
            self._cond.notify_all()

    def concurrency(self) -> int:
        with self._cond:
            return int(sum(st.limit for st in self._states))

    def acquire(self, prefer: int | None = None) -> int:
        """Block until some lane has a free slot; returns its index. ``prefer`` pins a lane when it has room."""
        with self._cond:
            while True:
                now = time.monotonic()
                idx = self._pick(now, prefer)
                if idx is not None:
                    self._states[idx].in_flight += 1
                    return idx
                wake = min((st.paused_until for st in self._states if st.paused_until > now), default=now + 0.5)
                self._cond.wait(timeout=max(0.001, min(0.5, wake - now)))

    def _pick(self, now: float, prefer: int | None) -> int | None:
        if prefer is not None and self._states[prefer].headroom(now) >= 1:
            return prefer
        best: int | None = None
        best_room = 0.0
        n = len(self._states)
        for k in range(n):
            i = (self._rr + k) % n
            room = self._states[i].headroom(now)
            if room >= 1 and room > best_room:
                best, best_room = i, room
        if best is not None:
            self._rr = (best + 1) % n
        return best

    def lane(self, idx: int) -> T:
        return self._lanes[idx]

    def release(self, idx: int, *, ok: bool = True, retry_after: float | None = None,
                concurrency_limit: bool = False) -> None:
        """Give back a slot; ``retry_after`` (seconds) when the request was throttled.

        A 429 for too many *concurrent* requests halves the window; a 429 for the request-count or
        execution-time budget only trims it (the pause for ``Retry-After`` is what protects the budget, and
        a halved window would leave the budget idle once it refills).
        """
        with self._cond:
            st = self._states[idx]
            st.in_flight -= 1
            if retry_after is not None:
                st.on_throttle(time.monotonic(), retry_after,
                               CONCURRENCY_DECREASE if concurrency_limit else BUDGET_DECREASE)
            elif ok:
                st.on_success()
            self._cond.notify_all()

    def paused_for(self, idx: int) -> float:
        with self._cond:
            return max(0.0, self._states[idx].paused_until - time.monotonic())
