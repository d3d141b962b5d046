"""Which server files an ingestion job may read: the read grant, checked on every file actually opened.

Server-side paths are a deployment admin's grant, not a team right. The admin names folders per team
(``SIGNIFIER_INGEST_ROOTS`` with ``{team}``, or ``SIGNIFIER_TEAM_INGEST_ROOTS``); a job gets a
``ReadGrant`` when it is submitted, and the grant travels inside the job's source record, so a Celery
worker enforces exactly what the API granted. What the server itself keeps in its data dir (uploads,
vectors, the database: ``SERVER_STATE``) is denied in every mode, even inside a granted root.

Every read goes through ``ReadGrant.open``: the path is resolved (``~``, ``..``, symlinks) and checked
before anything is opened, so a file outside the grant is never touched; then the descriptor actually
opened is resolved again (``/proc/self/fd``) and checked, so a swap between check and open does not pass.

Across the team boundary a refusal and a missing file read alike (no existence oracle) and messages name
the path only as the caller gave it, never what it resolved to.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from services.accounts.principal import Principal
from services.core.errors import Forbidden, InvalidInput
from services.core.settings import Settings

TEAM = "{team}"
# What Signifier writes into SIGNIFIER_DATA_DIR. Only these are denied, not the whole data dir, so a folder
# of images may sit beside them (``make demo``'s data/samples, k8s's /data/ingest on the shared
# volume). Anything new the server writes there must be added here.
SERVER_STATE = (
    "uploads",
    "collections",
    "thumbnails",
    "signifier.db",
    "signifier.db-wal",
    "signifier.db-shm",
    "signifier.db-journal",
)
UNREADABLE = "not found or not readable under this team's ingest roots"
_PROC_FD = "/proc/self/fd"


class PathRefused(InvalidInput):
    """A path that is missing, unreadable or outside the grant (deliberately one error for all three)."""

    code = "path_not_readable"


def _inside(real: str, folders: Iterable[str]) -> bool:
    return any(real == d or real.startswith(d if d.endswith(os.sep) else d + os.sep) for d in folders)


@dataclass(frozen=True)
class ReadGrant:
    """Folders a job may read (``roots``, resolved), what it may never read (``deny``: the data dir).

    ``anywhere``: any path the process can read except ``deny`` (a single local owner without roots).
    ``explain``: messages may say why a path was refused (one owner, nobody to hide anything from).
    """

    roots: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    anywhere: bool = False
    explain: bool = False

    # --- the record a job's source carries ---------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        return {"roots": list(self.roots), "deny": list(self.deny), "anywhere": self.anywhere, "explain": self.explain}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReadGrant:
        return cls(
            tuple(str(r) for r in d.get("roots") or ()),
            tuple(str(r) for r in d.get("deny") or ()),
            bool(d.get("anywhere")),
            bool(d.get("explain")),
        )

    # --- checks ------------------------------------------------------------------------------

    def allows(self, real: str) -> bool:
        """Whether a fully resolved absolute path is readable under this grant."""
        if _inside(real, self.deny):
            return False
        return self.anywhere or _inside(real, self.roots)

    def refused(self, shown: str, why: str = "") -> PathRefused:
        if self.explain and why:
            return PathRefused(f"{shown}: {why}")
        return PathRefused(f"{shown}: {UNREADABLE}")

    def locate(self, raw: str) -> Path:
        """The absolute path a request's ``raw`` names (``~`` expanded; relative: under the first root that
        has it, or the working directory when reading anywhere). Symlinks are kept; ``check`` resolves them."""
        p = Path(raw).expanduser()
        if p.is_absolute() or self.anywhere:
            return p.absolute()
        for root in self.roots:
            candidate = Path(root) / p
            if os.path.lexists(candidate):
                return candidate
        return Path(self.roots[0]) / p if self.roots else p.absolute()

    def check(self, path: str | Path, shown: str | None = None, what: str = "path") -> str:
        """The resolved path of ``path`` if it exists and the grant allows it; else ``PathRefused``.

        ``what`` names it in an explained message about a missing one ("file not found: x.png")."""
        shown = str(path) if shown is None else shown
        real = self._admit(path, shown)
        if not os.path.exists(real):
            raise self._missing(shown, what)
        return real

    def _admit(self, path: str | Path, shown: str) -> str:
        """``path`` resolved (``~``, ``..``, symlinks), if the grant covers it; else ``PathRefused``."""
        real = _realpath(os.path.expanduser(str(path)))
        if _inside(real, self.deny):
            why = "part of the server's own state (uploads, vectors, database in SIGNIFIER_DATA_DIR), never ingested"
            raise self.refused(shown, why)
        if not self.allows(real):
            raise self.refused(shown, "outside the folders this server may ingest from (SIGNIFIER_INGEST_ROOTS)")
        return real

    def _missing(self, shown: str, what: str) -> PathRefused:
        return PathRefused(f"{what} not found: {shown}") if self.explain else self.refused(shown)

    def open(self, path: str | Path, shown: str | None = None) -> BinaryIO:
        """``path`` opened for reading (a regular file), after checking the path and what was opened."""
        shown = str(path) if shown is None else shown
        real = self._admit(path, shown)  # nothing outside the grant is opened at all
        try:
            # O_NONBLOCK: a FIFO planted in a root must not hang the reader; nothing but regular files pass.
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        except FileNotFoundError:
            raise self._missing(shown, "file") from None
        except OSError:
            raise self.refused(shown, "not readable") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise self.refused(shown, "not a regular file")
            opened = _opened_path(fd)
            if opened is None:  # no /proc: the checked path, resolved afresh, must be the file opened
                now = os.stat(real)
                ok = self.allows(os.path.realpath(real)) and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)
            else:
                ok = self.allows(opened)
            if not ok:
                raise self.refused(shown, "changed while it was being opened")
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def check_dir(self, path: str | Path, shown: str | None = None) -> str:
        """Like ``check`` for a folder to walk; ``PathRefused`` unless it is a directory under the grant."""
        shown = str(path) if shown is None else shown
        real = self.check(path, shown)
        if not os.path.isdir(real):
            raise self.refused(shown, "not a folder")
        return real

    def read_bytes(self, path: str | Path, max_bytes: int, shown: str | None = None) -> bytes:
        """The file's bytes (at most ``max_bytes``: ``PayloadTooLarge`` past that), read through ``open``."""
        from services.core.errors import PayloadTooLarge

        with self.open(path, shown) as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise PayloadTooLarge(f"file is {size:,} bytes, over the limit of {max_bytes:,} bytes")
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise PayloadTooLarge(f"file is over the limit of {max_bytes:,} bytes")
        return data


UNRESTRICTED = ReadGrant(anywhere=True, explain=True)  # library use (tests, scripts): today's behaviour


def _realpath(path: str) -> str:
    """``os.path.realpath``, with the folder's resolution cached: a job reads thousands of files from a few
    folders, and the full walk (an ``lstat`` per component, in Python, holding the GIL the model and the
    decode threads need) cost the pipeline 18 % of its rate on shapes-clip. A file that is itself a link,
    or a path with ``..``, is resolved in full. A folder swapped for a link after it was cached is caught
    where it matters: ``open`` checks the path of what the kernel actually opened."""
    if ".." in path.split(os.sep):  # ".." after a link is the link target's parent: resolve it all
        return os.path.realpath(path)
    path = os.path.abspath(path)
    folder, name = os.path.split(path)
    if not name:
        return os.path.realpath(path)
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return os.path.realpath(path)
    except OSError:  # missing: resolved in full, for the message and the checks
        return os.path.realpath(path)
    return os.path.join(_real_folder(folder), name)


@functools.lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


def _opened_path(fd: int) -> str | None:
    try:
        return os.readlink(f"{_PROC_FD}/{fd}")
    except OSError:
        return None


# --- what the deployment grants ----------------------------------------------------------------


def _resolved(paths: Iterable[Path | str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(os.path.realpath(os.path.expanduser(str(p))) for p in paths))


def server_state(settings: Settings) -> tuple[str, ...]:
    """What no job may ever read by path: the server's state in the data dir, and a SQLite database elsewhere."""
    state: list[Path | str] = [settings.data_dir / name for name in SERVER_STATE]
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        db = url.removeprefix("sqlite:///")
        state += [db + suffix for suffix in ("", "-wal", "-shm", "-journal")]
    return _resolved(state)


def team_roots(settings: Settings, team_name: str) -> list[Path]:
    """The folders granted to ``team_name``: ``ingest_roots`` with ``{team}`` filled in, then the mapping's."""
    roots = [Path(str(r).replace(TEAM, team_name)) for r in settings.ingest_roots]
    return roots + list(settings.team_ingest_roots.get(team_name, []))


def grant_for(settings: Settings, principal: Principal) -> ReadGrant:
    """What ``principal`` may ingest by server path; ``Forbidden`` when path ingestion is off for its team.

    The local owner of an ``auth=local`` server (and its admin keys) reads anywhere but the data dir when
    no roots are set; everyone else reads only the folders the deployment granted its team.
    """
    deny = server_state(settings)
    roots = team_roots(settings, principal.team_name)
    single_owner = settings.auth == "local" and principal.admin
    if roots:
        return ReadGrant(_resolved(roots), deny, explain=single_owner)
    if single_owner:
        return ReadGrant((), deny, anywhere=True, explain=True)
    raise Forbidden(
        f"ingesting server paths is off for team {principal.team_name!r}: the deployment admin grants folders "
        "with SIGNIFIER_INGEST_ROOTS='[\"/srv/images/{team}\"]' or SIGNIFIER_TEAM_INGEST_ROOTS; upload files instead"
    )


def upload_grant(job_dir: Path) -> ReadGrant:
    """An upload job reads the folder the server itself wrote for it, and nothing else."""
    return ReadGrant(_resolved([job_dir]))


def roots_refusal(settings: Settings) -> str | None:
    """Why a shared (``auth=required``) server must not start with these roots, or ``None``."""
    if settings.auth != "required":
        return None
    shared = [str(r) for r in settings.ingest_roots if TEAM not in str(r)]
    if shared:
        return (
            f"refusing to start: SIGNIFIER_INGEST_ROOTS entry {shared[0]!r} has no '{{team}}', so every team could "
            "read it; use '/path/{team}' or SIGNIFIER_TEAM_INGEST_ROOTS='{\"team\": [\"/path\"]}'"
        )
    return None
