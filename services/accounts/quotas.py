"""Per-team quotas: how many collections, how many stored points.

A quota that would be exceeded is a ``QuotaExceeded`` (HTTP 403, code ``quota_exceeded``): retrying
does not help, deleting something or raising the quota does, so it is neither a 429 nor a 422.
A team's own value (``signifier admin set-quota``) wins over the deployment default (settings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from services.accounts.team_models import TeamRow
from services.core.errors import QuotaExceeded
from services.core.settings import QuotaSettings


@dataclass(frozen=True)
class TeamQuota:
    max_collections: int | None
    max_points: int | None


def effective(row: TeamRow | None, defaults: QuotaSettings) -> TeamQuota:
    """The team's quotas, falling back to the deployment's defaults where the team has none."""
    own_c = row.max_collections if row is not None else None
    own_p = row.max_points if row is not None else None
    return TeamQuota(
        own_c if own_c is not None else defaults.max_collections,
        own_p if own_p is not None else defaults.max_points,
    )


def check_collections(quota: TeamQuota, current: int, team: str) -> None:
    """Refuse a new collection when the team already has ``max_collections``."""
    if quota.max_collections is not None and current + 1 > quota.max_collections:
        raise QuotaExceeded(
            f"team {team!r} has {current} collection(s) and its quota is {quota.max_collections}: "
            "delete one, or ask an admin to raise it ('signifier admin set-quota --max-collections N')"
        )


def check_points(quota: TeamQuota, current: int, incoming: int, team: str) -> None:
    """Refuse ``incoming`` more points when ``current + incoming`` would pass ``max_points``."""
    if quota.max_points is not None and current + incoming > quota.max_points:
        raise QuotaExceeded(
            f"team {team!r} stores {current:,} point(s); {incoming:,} more would pass its quota of "
            f"{quota.max_points:,}: delete a collection, or ask an admin to raise it "
            "('signifier admin set-quota --max-points N')"
        )


class Quotas:
    """Reads a team's quotas; ``check_ingest`` is what the ingest route calls before accepting a job."""

    def __init__(self, sessions: sessionmaker[Session], defaults: QuotaSettings) -> None:
        self.sessions = sessions
        self.defaults = defaults

    def for_team(self, team_id: str) -> TeamQuota:
        with self.sessions() as s:
            return effective(s.get(TeamRow, team_id), self.defaults)

    def check_ingest(
        self, team_id: str, team_name: str, points_used: Callable[[], int], incoming: Callable[[], int] | int
    ) -> None:
        """Refuse a job of ``incoming`` items when the team's stored points plus those would pass its quota.

        Both counts are callables, evaluated only when the team has a points quota (counting a
        manifest's items or a team's points costs a pass over them). Jobs are checked when accepted,
        so two jobs accepted together can pass the quota by at most the smaller one.
        """
        quota = self.for_team(team_id)
        if quota.max_points is None:
            return
        n = incoming() if callable(incoming) else incoming
        check_points(quota, points_used(), n, team_name)
