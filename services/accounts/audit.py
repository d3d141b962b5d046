"""The audit log: who did which admin action or deletion, to what, when, in which team.

Events are written in the same transaction as the action they describe, so an action cannot happen
without its record (and a failed action leaves none).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.accounts.principal import Principal
from services.accounts.team_models import AuditRow
from services.core.timeutil import aware, utcnow


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: dt.datetime
    team_id: str | None
    actor: str
    actor_key_id: str | None
    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)


def record(s: Session, principal: Principal, action: str, target: str, team_id: str | None, **detail: Any) -> None:
    """Add an event to the caller's transaction ``s``. ``action`` is dotted, e.g. ``key.revoke``."""
    s.add(
        AuditRow(
            at=utcnow(),
            team_id=team_id,
            actor=principal.actor[:256],
            actor_key_id=principal.key_id,
            action=action,
            target=target[:256],
            detail=detail,
        )
    )


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def record(self, principal: Principal, action: str, target: str, team_id: str | None, **detail: Any) -> None:
        """Record an event in a transaction of its own (for actions outside the accounts database)."""
        with self.sessions.begin() as s:
            record(s, principal, action, target, team_id, **detail)

    def events(
        self, team_id: str | None, limit: int = 100, action: str | None = None, before: int | None = None
    ) -> list[AuditEvent]:
        """Newest first. ``team_id=None``: every team's events (deployment admins only, checked by callers)."""
        with self.sessions() as s:
            q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            if team_id is not None:
                q = q.where(AuditRow.team_id == team_id)
            if action:
                q = q.where(AuditRow.action.startswith(action, autoescape=True))
            if before is not None:
                q = q.where(AuditRow.id < before)
            return [
                AuditEvent(r.id, aware(r.at), r.team_id, r.actor, r.actor_key_id, r.action, r.target, r.detail or {})
                for r in s.scalars(q)
            ]
