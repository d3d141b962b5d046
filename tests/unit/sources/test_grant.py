"""The read grant: what resolves inside a root is read, everything else is refused alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.accounts.principal import LOCAL_OWNER, Principal
from services.api.routes.jobs import public_item, public_source
from services.core.errors import Forbidden, InvalidInput
from services.core.settings import Settings
from services.jobs.kinds import parse_source
from services.jobs.records import JobInfo
from services.jobs.runners import runner_for
from services.jobs.runners.base import JobContext
from services.sources import grant as grant_mod
from services.sources.grant import UNREADABLE, PathRefused, ReadGrant, grant_for, roots_refusal, team_roots
from services.sources.readers import ManifestReader


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root, other, data = tmp_path / "root", tmp_path / "other", tmp_path / "data"
    for d in (root, other, data):
        d.mkdir()
    (root / "in.png").write_bytes(b"inside")
    (other / "out.png").write_bytes(b"outside")
    (data / "db").write_bytes(b"state")
    (root / "link.png").symlink_to(other / "out.png")
    (root / "good-link.png").symlink_to(root / "in.png")
    return {"root": root, "other": other, "data": data}


def _grant(tree: dict[str, Path], explain: bool = False) -> ReadGrant:
    return ReadGrant((os.path.realpath(tree["root"]),), (os.path.realpath(tree["data"]),), explain=explain)


def test_reads_inside_the_root_and_links_that_stay_inside(tree: dict[str, Path]) -> None:
    g = _grant(tree)
    assert g.read_bytes(tree["root"] / "in.png", 100) == b"inside"
    assert g.read_bytes(tree["root"] / "good-link.png", 100) == b"inside"


@pytest.mark.parametrize("rel", ["link.png", "../other/out.png", "missing.png", "../other/missing.png", "../data/db"])
def test_outside_missing_and_data_dir_are_one_refusal(tree: dict[str, Path], rel: str) -> None:
    g = _grant(tree)
    with pytest.raises(PathRefused) as exc:
        g.read_bytes(tree["root"] / rel, 100, shown=rel)
    assert exc.value.message == f"{rel}: {UNREADABLE}"


def test_the_deny_wins_over_a_root_that_contains_it(tree: dict[str, Path]) -> None:
    g = ReadGrant((os.path.realpath(tree["data"].parent),), (os.path.realpath(tree["data"]),))
    assert g.read_bytes(tree["root"] / "in.png", 100) == b"inside"
    with pytest.raises(PathRefused):
        g.open(tree["data"] / "db")


def test_a_swap_between_check_and_open_is_caught(tree: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """What the descriptor really is decides: here /proc says it is a file outside the root."""
    monkeypatch.setattr(grant_mod, "_opened_path", lambda fd: str(tree["other"] / "out.png"))
    with pytest.raises(PathRefused, match=UNREADABLE):
        _grant(tree).open(tree["root"] / "in.png")


def test_without_proc_the_opened_inode_must_match(tree: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grant_mod, "_opened_path", lambda fd: None)
    assert _grant(tree).read_bytes(tree["root"] / "in.png", 100) == b"inside"


def test_fifos_and_folders_are_not_opened_as_files(tree: dict[str, Path]) -> None:
    os.mkfifo(tree["root"] / "pipe.png")
    g = _grant(tree)
    for p in (tree["root"] / "pipe.png", tree["root"]):
        with pytest.raises(PathRefused):
            g.open(p)  # returns at once: O_NONBLOCK, then "not a regular file"


def test_size_limit_and_explained_messages(tree: dict[str, Path]) -> None:
    g = _grant(tree, explain=True)
    with pytest.raises(InvalidInput, match="server's own state"):
        g.open(tree["data"] / "db")
    with pytest.raises(InvalidInput, match="outside the folders"):
        g.open(tree["other"] / "out.png")
    from services.core.errors import PayloadTooLarge

    with pytest.raises(PayloadTooLarge):
        g.read_bytes(tree["root"] / "in.png", 3)


def test_locate_resolves_relative_paths_under_the_roots(tree: dict[str, Path]) -> None:
    g = _grant(tree)
    assert g.locate("in.png") == Path(os.path.realpath(tree["root"])) / "in.png"
    assert g.locate("nope.png") == Path(os.path.realpath(tree["root"])) / "nope.png"
    assert g.locate(str(tree["other"])) == tree["other"]


def test_manifest_rows_carry_the_grant(tree: dict[str, Path]) -> None:
    m = tree["root"] / "m.jsonl"
    m.write_text('{"path": "in.png"}\n{"path": "../other/out.png"}\n')
    items = list(ManifestReader(m, _grant(tree)))
    assert items[0].grant.read_bytes(items[0].source, 100) == b"inside"  # type: ignore[union-attr]
    with pytest.raises(PathRefused):
        items[1].grant.read_bytes(items[1].source, 100)  # type: ignore[union-attr]


def test_a_source_without_a_grant_reads_nothing(tree: dict[str, Path]) -> None:
    with pytest.raises(InvalidInput, match="submit it again"):
        parse_source({"kind": "path", "path": str(tree["root"])})
    record = {"kind": "path", "path": "root", "target": str(tree["root"]), "grant": _grant(tree).as_dict()}
    reader = runner_for(parse_source(record), "c", JobContext())
    assert reader.count() == 3  # in.png, good-link.png, and link.png: listed, so the total hides its target
    assert ReadGrant.from_dict(_grant(tree).as_dict()) == _grant(tree)


def _team(name: str) -> Principal:
    return Principal(team="t-" + name, role="editor", user="u", key_id="k", team_name=name)


def test_grants_per_mode(tmp_path: Path) -> None:
    shared = Settings(auth="required", data_dir=tmp_path / "data", ingest_roots=[tmp_path / "{team}"])
    assert team_roots(shared, "beta") == [tmp_path / "beta"]
    assert grant_for(shared, _team("beta")).roots == (os.path.realpath(tmp_path / "beta"),)
    with pytest.raises(Forbidden, match="SIGNIFIER_TEAM_INGEST_ROOTS"):
        grant_for(Settings(auth="required", data_dir=tmp_path), _team("beta"))
    mapped = Settings(auth="required", data_dir=tmp_path, team_ingest_roots={"alpha": [tmp_path / "a"]})
    assert grant_for(mapped, _team("alpha")).roots == (os.path.realpath(tmp_path / "a"),)
    with pytest.raises(Forbidden):
        grant_for(mapped, _team("beta"))
    local = grant_for(Settings(data_dir=tmp_path / "data"), LOCAL_OWNER)
    assert local.anywhere and os.path.realpath(tmp_path / "data" / "uploads") in local.deny
    (tmp_path / "data" / "samples").mkdir(parents=True)
    (tmp_path / "data" / "samples" / "a.png").write_bytes(b"demo")  # make demo's layout: images beside the state
    assert local.read_bytes(tmp_path / "data" / "samples" / "a.png", 10) == b"demo"
    for state in ("uploads/j/a.png", "signifier.db", "collections/x"):
        assert not local.allows(os.path.realpath(tmp_path / "data" / state))
    with pytest.raises(Forbidden):  # a keyed team on a local server is no single owner
        grant_for(Settings(data_dir=tmp_path / "data"), _team("beta"))


def test_a_root_every_team_could_read_refuses_a_shared_server(tmp_path: Path) -> None:
    assert roots_refusal(Settings(auth="required", ingest_roots=[tmp_path / "{team}"])) is None
    assert roots_refusal(Settings(auth="local", ingest_roots=[tmp_path])) is None
    why = roots_refusal(Settings(auth="required", ingest_roots=[tmp_path / "{team}", tmp_path / "all"]))
    assert why is not None and "{team}" in why and "\n" not in why


def _job(source: dict[str, object]) -> JobInfo:
    return JobInfo("j1", "c", "c-store", "done", 0, 0, 0, source_record=source)


def test_job_views_hide_server_folders() -> None:
    upload = _job({"kind": "upload", "path": "/srv/data/uploads/j1", "files": 2, "grant": {}})
    assert public_source(upload) == {"kind": "upload", "files": 2}
    assert public_item("/srv/data/uploads/j1/00001_bad.png", upload) == "00001_bad.png"
    folder = _job({"kind": "path", "path": "imgs", "target": "/srv/beta/imgs", "grant": {}})
    assert public_source(folder) == {"kind": "path", "path": "imgs"}
    assert public_item("/srv/beta/imgs/a.png", folder) == "imgs/a.png"
    manifest = _job({"kind": "path", "path": "m.jsonl", "target": "/srv/beta/m.jsonl", "grant": {}})
    assert public_item("/srv/beta/x/1.png", manifest) == "x/1.png"
    assert public_source(_job({"kind": "path", "path": "old"})) == {"kind": "path"}  # unreadable: its kind only
