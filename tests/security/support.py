"""A real shared server for the security tests: ``signifier serve`` as its own process, with
``SIGNIFIER_AUTH=required``, two teams (``alpha`` and ``beta``) and an API key of every role in each.

The tests here attack that server the way a member of another team (or a web page) would, over real
HTTP on 127.0.0.1: every finding of the shared-server review is reproduced against it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.integration.celery_support import REPO, Proc, free_port, wait_for

TEAMS = ("alpha", "beta")
ROLES = ("owner", "editor", "viewer")


class SharedServer:
    """The README's team recipe, run for real: teams and keys made with ``signifier admin``, then served.

    ``roots``: the deployment's ingest roots, ``<tmp>/roots/{team}`` by default (``roots/alpha`` and
    ``roots/beta`` exist, each with its own images once the test puts some there). ``env`` overrides any
    variable; a value of ``None`` removes it.
    """

    def __init__(self, tmp: Path, env: dict[str, str | None] | None = None, model: str = "shapes-clip") -> None:
        self.tmp = tmp
        self.data = tmp / "data"
        self.roots = tmp / "roots"
        self.logs = tmp / "logs"
        for d in (self.data, self.logs, *(self.roots / t for t in TEAMS)):
            d.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base: dict[str, str] = {
            k: v for k, v in os.environ.items() if not k.startswith("SIGNIFIER_") or k.startswith("SIGNIFIER_TEST_")
        }
        base.update(
            SIGNIFIER_AUTH="required",
            SIGNIFIER_DATA_DIR=str(self.data),
            SIGNIFIER_MODEL=model,
            SIGNIFIER_DEVICE="cpu",
            SIGNIFIER_INGEST_ROOTS=f'["{self.roots}/{{team}}"]',
            SIGNIFIER_RATE__PER_MINUTE="0",
            SIGNIFIER_INGEST__DECODE_WORKERS="1",
            SIGNIFIER_TORCH_THREADS="1",
            OMP_NUM_THREADS="1",
            PYTHONUNBUFFERED="1",
        )
        for k, v in (env or {}).items():
            if v is None:
                base.pop(k, None)
            else:
                base[k] = v
        self.env = base
        self.cli = [sys.executable, "-m", "services.cli.main"]
        serve = [*self.cli, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = Proc("api", serve, self.env, self.logs)
        self.keys: dict[tuple[str, str], str] = {}

    # --- the operator's side ------------------------------------------------------------------

    def run_cli(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``signifier ARGS`` with the server's environment (plus ``env``); stdout and stderr captured."""
        res = subprocess.run(
            [*self.cli, *args], env={**self.env, **(env or {})}, cwd=REPO, capture_output=True, text=True, timeout=120
        )
        if check and res.returncode != 0:
            raise AssertionError(f"signifier {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
        return res

    def run_cli_batch(self, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
        """``run_cli`` for several commands, in order, in one interpreter (``tests/support/cli_batch.py``):
        the same command line and environment, one interpreter start instead of one per command. Each
        must exit 0."""
        res = subprocess.run(
            [sys.executable, "-m", "tests.support.cli_batch", json.dumps(commands)],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = res.stdout.splitlines()
        if res.returncode != 0 or len(lines) != len(commands):
            raise AssertionError(f"the command batch exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
        done = []
        for line in lines:
            r = json.loads(line)
            if r["returncode"] != 0:
                raise AssertionError(
                    f"signifier {' '.join(r['args'])} exited {r['returncode']}:\n{r['stdout']}\n{r['stderr']}"
                )
            done.append(subprocess.CompletedProcess(r["args"], r["returncode"], r["stdout"], r["stderr"]))
        return done

    def setup_teams(self) -> None:
        """``signifier admin create-team`` for each team and ``create-key --quiet`` for each role in it."""
        commands = []
        for team in TEAMS:
            commands.append(["admin", "create-team", team])
            commands += [["admin", "create-key", "--team", team, "--role", role, "--quiet"] for role in ROLES]
        results = iter(self.run_cli_batch(*commands))
        for team in TEAMS:
            next(results)  # the team
            for role in ROLES:
                self.keys[(team, role)] = next(results).stdout.strip().splitlines()[-1]

    # --- the process --------------------------------------------------------------------------

    def start(self, timeout: float = 90) -> SharedServer:
        self.proc.start()

        def up() -> bool:
            if not self.proc.alive():
                raise AssertionError(f"the server exited:\n{self.proc.tail()}")
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200

        try:
            wait_for(up, timeout, "the server", 0.2)
        except AssertionError:
            raise AssertionError(f"the server did not come up:\n{self.proc.tail()}") from None
        return self

    def stop(self) -> None:
        self.proc.stop()

    def __enter__(self) -> SharedServer:
        self.setup_teams()
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the users' side ----------------------------------------------------------------------

    def client(self, team: str | None = None, role: str = "owner", **kw: Any) -> httpx.Client:
        """An HTTP client with ``team``'s ``role`` key (no key when ``team`` is None)."""
        headers = {"Authorization": f"Bearer {self.keys[(team, role)]}"} if team else {}
        headers.update(kw.pop("headers", {}))
        return httpx.Client(base_url=self.url, headers=headers, timeout=kw.pop("timeout", 60), **kw)

    def wait_job(self, client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def finished() -> bool:
            nonlocal last
            last = client.get(f"/v1/jobs/{job_id}").json()
            return last.get("state") in ("done", "failed", "cancelled")

        try:
            wait_for(finished, timeout, f"job {job_id}", 0.2)
        except AssertionError:
            raise AssertionError(f"job {job_id} did not finish: {last}\n{self.proc.tail()}") from None
        return last
