"""Pure-ASGI middleware that gives every HTTP request its time budget and the shared heavy-work gate.

See ``services/core/budget.py``: the budget lives in a context variable, which the thread-pool calls of
sync routes inherit, so long loops anywhere below a route can check it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from services.core.budget import HeavyGate, request_budget
from services.core.settings import Limits

WAITING_PER_SLOT = 4  # heavy requests that may queue for each running one before more are refused


class RequestBudgetMiddleware:
    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.seconds = limits.request_seconds
        self.gate = HeavyGate(limits.max_heavy_requests, limits.max_heavy_requests * WAITING_PER_SLOT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_budget(self.seconds, self.gate):
            await self.app(scope, receive, send)
