"""Pure policy: quota arithmetic and the role each route needs."""

from __future__ import annotations

import pytest

from services.accounts.principal import Principal, is_loopback, weaker
from services.accounts.quotas import TeamQuota, check_collections, check_points, effective
from services.accounts.roles import required_role
from services.accounts.team_models import TeamRow
from services.core.errors import QuotaExceeded
from services.core.settings import QuotaSettings


def test_a_teams_own_quota_wins_over_the_default() -> None:
    defaults = QuotaSettings(max_collections=5, max_points=1000)
    assert effective(None, defaults) == TeamQuota(5, 1000)
    assert effective(TeamRow(max_collections=1, max_points=None), defaults) == TeamQuota(1, 1000)
    assert effective(TeamRow(max_collections=0, max_points=7), defaults) == TeamQuota(0, 7)


def test_quota_checks() -> None:
    check_collections(TeamQuota(None, None), 10**6, "t")
    check_collections(TeamQuota(2, None), 1, "t")
    with pytest.raises(QuotaExceeded, match="has 2 collection"):
        check_collections(TeamQuota(2, None), 2, "t")
    check_points(TeamQuota(None, 100), 60, 40, "t")
    with pytest.raises(QuotaExceeded, match=r"60 point.*41 more would pass its quota of 100"):
        check_points(TeamQuota(None, 100), 60, 41, "t")


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("GET", "/v1/collections", "viewer"),
        ("GET", "/v1/collections/{name}/points/{point_id}/image", "viewer"),
        ("POST", "/v1/collections/{name}/search", "viewer"),
        ("POST", "/v1/collections/{name}/oppositions", "viewer"),
        ("POST", "/v1/embed", "viewer"),
        ("POST", "/v1/collections", "editor"),
        ("POST", "/v1/collections/{name}/ingest", "editor"),
        ("PUT", "/v1/collections/{name}/concepts/{concept}", "editor"),
        ("DELETE", "/v1/jobs/{job_id}", "editor"),
        ("DELETE", "/v1/collections/{name}", "owner"),
        ("DELETE", "/v1/collections/{name}/concepts/{concept}", "owner"),
        ("GET", "/v1/admin/keys", "owner"),
        ("POST", "/v1/admin/keys", "owner"),
        ("POST", "/v1/brand-new-route", "editor"),  # unknown writes need editor until listed
        ("DELETE", "/v1/brand-new-route/{id}", "owner"),
    ],
)
def test_required_role(method: str, path: str, role: str) -> None:
    assert required_role(method, path) == role


def test_role_order() -> None:
    viewer = Principal(team="t", role="viewer")
    owner = Principal(team="t", role="owner")
    assert owner.at_least("editor") and not viewer.at_least("editor") and viewer.at_least("viewer")
    assert weaker("owner", "viewer") == weaker("viewer", "owner") == "viewer"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
