"""Who makes a request: a team and a role in it. Embedded mode has one local owner; keys name the rest."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

Role = Literal["owner", "editor", "viewer"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "owner")  # in increasing power

LOCAL_TEAM = "local"


def role_rank(role: str) -> int:
    """0 for viewer, 1 for editor, 2 for owner; -1 for anything else (so unknown roles can do nothing)."""
    return ROLES.index(role) if role in ROLES else -1


def weaker(a: Role, b: Role) -> Role:
    """The less powerful of two roles (a key can never do more than its user)."""
    return a if role_rank(a) <= role_rank(b) else b


@dataclass(frozen=True)
class Principal:
    """The caller. Every store call is scoped to ``team``'s collections (``team`` is the team's id).

    ``admin``: may administer every team (the embedded local owner, and keys the CLI issued with
    ``--admin``). ``key_id``: the API key used, ``None`` for the keyless local owner.
    """

    team: str
    role: Role
    user: str = "local-owner"
    key_id: str | None = None
    admin: bool = False
    team_name: str = LOCAL_TEAM

    def can_write(self) -> bool:
        return self.role in ("owner", "editor")

    def at_least(self, role: Role) -> bool:
        return role_rank(self.role) >= role_rank(role)

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.user} (key {self.key_id})" if self.key_id else self.user


LOCAL_OWNER = Principal(team=LOCAL_TEAM, role="owner", admin=True)


def operator(name: str) -> Principal:
    """The operator at a shell on the server (``signifier admin ...``): may do anything, logged as such."""
    return Principal(team=LOCAL_TEAM, role="owner", user=f"cli:{name}", admin=True)


def is_loopback(host: str | None) -> bool:
    """True for loopback addresses and ``localhost``; False for other addresses, names and ``None``."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
