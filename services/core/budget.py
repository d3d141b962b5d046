"""Per-request time budget and turns for whole-collection work, so one heavy request cannot starve others.

Sync routes run in Starlette's thread pool and share one GIL, so a request that computes for a minute
slows every other request down. Two bounds, both held in a context variable that the API sets per
request (``services/api/budget.py``) and that thread-pool calls inherit:

- a deadline: long loops call ``check_time`` and stop with ``TimeBudgetExceeded`` (503) once the request
  has run ``SIGNIFIER_LIMITS__REQUEST_SECONDS``, so the work itself ends, not only the client's wait;
- turns: whole-collection scans run inside ``heavy_turn``, at most ``max_heavy_requests`` at once; a few
  more wait (for at most the rest of their deadline), and beyond those a request is refused at once
  with ``Busy`` (503), so waiting scans never hold more than a handful of the thread pool's threads.

Outside a request (jobs, the CLI, unit tests) there is no budget and both calls do nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from services.core.errors import Busy, TimeBudgetExceeded


class HeavyGate:
    """At most ``slots`` whole-collection scans at once, and at most ``waiting`` more in line."""

    def __init__(self, slots: int, waiting: int) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting = 0
        self.max_waiting = waiting

    @contextmanager
    def turn(self, timeout: float) -> Iterator[bool]:
        """Hold a slot for the block; yields False (holding nothing) when none came within ``timeout``."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.max_waiting:
                    raise Busy(
                        "too many whole-collection requests are running or waiting; retry in a few seconds "
                        "(SIGNIFIER_LIMITS__MAX_HEAVY_REQUESTS)"
                    )
                self._waiting += 1
            try:
                got = self._slots.acquire(timeout=max(timeout, 0.0))
            finally:
                with self._lock:
                    self._waiting -= 1
            if not got:
                yield False
                return
        try:
            yield True
        finally:
            self._slots.release()


@dataclass
class Budget:
    """One request's deadline (``time.monotonic`` seconds) and the gate its heavy work must pass."""

    deadline: float
    seconds: float
    gate: HeavyGate | None = None
    holding: int = 0  # heavy turns this request holds (nested scans do not wait on themselves)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def exceeded(self, what: str) -> TimeBudgetExceeded:
        return TimeBudgetExceeded(
            f"the request ran past its time budget of {self.seconds:g} s while {what}; narrow it (a filter, "
            "fewer points, labels or steps) or ask the operator to raise SIGNIFIER_LIMITS__REQUEST_SECONDS"
        )


_current: ContextVar[Budget | None] = ContextVar("signifier_budget", default=None)


@contextmanager
def request_budget(seconds: float, gate: HeavyGate | None = None) -> Iterator[Budget]:
    """Run the block (one request) with a budget of ``seconds``; code it calls sees it via ``check_time``."""
    budget = Budget(time.monotonic() + seconds, seconds, gate)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def check_time(what: str) -> None:
    """Raise ``TimeBudgetExceeded`` when the current request is past its deadline; cheap (one clock read)."""
    budget = _current.get()
    if budget is not None and budget.left() < 0:
        raise budget.exceeded(what)


@contextmanager
def heavy_turn(what: str) -> Iterator[None]:
    """Hold one of the gate's slots for a whole-collection scan (waiting, at most, the rest of the budget)."""
    budget = _current.get()
    if budget is None or budget.gate is None or budget.holding:
        yield
        return
    with budget.gate.turn(budget.left()) as got:
        if not got:
            raise budget.exceeded(f"waiting for a turn to start {what}")
        budget.holding += 1
        try:
            yield
        finally:
            budget.holding -= 1
