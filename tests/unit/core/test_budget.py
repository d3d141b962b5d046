"""The request time budget and the heavy-work gate (pure: no server)."""

from __future__ import annotations

import threading
import time
from contextvars import copy_context

import pytest

from services.core.budget import HeavyGate, check_time, heavy_turn, request_budget
from services.core.errors import Busy, TimeBudgetExceeded


def test_no_budget_outside_a_request() -> None:
    check_time("anything")
    with heavy_turn("a scan"):
        pass


def test_a_request_past_its_deadline_stops_with_a_clear_message() -> None:
    with request_budget(0.01):
        check_time("scanning")
        time.sleep(0.02)
        with pytest.raises(TimeBudgetExceeded, match=r"time budget of 0\.01 s while scanning"):
            check_time("scanning")
    check_time("after the request")  # the budget ended with the request


def test_thread_pool_calls_inherit_the_budget() -> None:
    with request_budget(0.0001):
        ctx = copy_context()  # what anyio's to_thread.run_sync hands the worker thread
    time.sleep(0.001)
    with pytest.raises(TimeBudgetExceeded):
        ctx.run(check_time, "in a thread")


def test_the_gate_runs_a_few_at_once_queues_a_few_and_refuses_the_rest() -> None:
    gate = HeavyGate(slots=1, waiting=1)
    release = threading.Event()
    entered = threading.Event()

    def holder() -> None:
        with request_budget(5, gate), heavy_turn("scan"):
            entered.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    entered.wait(5)
    outcomes: list[str] = []

    def waiter() -> None:
        with request_budget(5, gate), heavy_turn("scan"):
            outcomes.append("ran")

    w = threading.Thread(target=waiter)
    w.start()
    time.sleep(0.05)  # the waiter is in line
    with request_budget(5, gate), pytest.raises(Busy, match="retry"), heavy_turn("scan"):
        pass
    release.set()
    t.join(5)
    w.join(5)
    assert outcomes == ["ran"]


def test_waiting_for_a_turn_counts_against_the_deadline() -> None:
    gate = HeavyGate(slots=1, waiting=4)
    caught: list[TimeBudgetExceeded] = []

    def second() -> None:
        try:
            with request_budget(0.05, gate), heavy_turn("a scan"):
                pass
        except TimeBudgetExceeded as exc:
            caught.append(exc)

    with request_budget(5, gate), heavy_turn("the first scan"):
        t0 = time.monotonic()
        t = threading.Thread(target=second)
        t.start()
        t.join(5)
    assert time.monotonic() - t0 < 2
    assert len(caught) == 1 and "waiting for a turn to start a scan" in caught[0].message


def test_nested_scans_of_one_request_do_not_wait_on_themselves() -> None:
    gate = HeavyGate(slots=1, waiting=0)
    with request_budget(5, gate), heavy_turn("outer"), heavy_turn("inner"):
        pass
