"""Real processes for the Celery tests: a redis-server, the API (``signifier serve``) and workers
(``signifier worker``), each started here, listening on 127.0.0.1 only, and stopped (or killed) by the test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-internal-token-0123456789abcdef-celery"  # >= 32 characters, as Settings demand


def require_redis() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server); the Celery tests need it")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Proc:
    """A child process in its own session (so a kill takes its children too), logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acknowledgements, like a host that died."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, n: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


class RedisServer(Proc):
    def __init__(self, binary: str, port: int, log_dir: Path) -> None:
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(log_dir)]  # fmt: skip
        super().__init__("redis", argv, dict(os.environ), log_dir)
        self.port = port

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def start(self) -> None:
        super().start()
        wait_for(self.ping, 10, "redis-server")


class Cluster:
    """Redis + the embedded API + workers, all configured by one environment."""

    def __init__(self, tmp: Path, model: str, **overrides: str) -> None:
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.redis = RedisServer(require_redis(), free_port(), self.logs)
        self.api_port = free_port()
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.env = {
            **os.environ,
            "SIGNIFIER_DATA_DIR": str(tmp / "data"),
            "SIGNIFIER_MODEL": model,
            "SIGNIFIER_DEVICE": "cpu",
            "SIGNIFIER_REDIS_URL": f"redis://127.0.0.1:{self.redis.port}/0",
            "SIGNIFIER_INTERNAL_TOKEN": TOKEN,
            "SIGNIFIER_WORKERS__API_URL": self.url,
            "SIGNIFIER_WORKERS__CHUNK_SIZE": "40",
            "SIGNIFIER_WORKERS__MAX_QUEUED_CHUNKS": "2",
            "SIGNIFIER_WORKERS__REQUEUE_AFTER_S": "6",
            "SIGNIFIER_WORKERS__SWEEP_INTERVAL_S": "1",
            "SIGNIFIER_WORKERS__RETRY_BACKOFF_S": "0.5",
            "SIGNIFIER_INGEST__BATCH_SIZE": "8",
            "SIGNIFIER_INGEST__DECODE_WORKERS": "1",
            "SIGNIFIER_TORCH_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
            **overrides,
        }
        for key in ("SIGNIFIER_QDRANT_URL", "SIGNIFIER_DATABASE_URL", "SIGNIFIER_API", "SIGNIFIER_AUTH"):
            self.env.pop(key, None)
        cli = [sys.executable, "-m", "services.cli.main"]
        serve = [*cli, "serve", "--host", "127.0.0.1", "--port", str(self.api_port)]
        self.api = Proc("api", serve, self.env, self.logs)
        self.workers: list[Proc] = []
        self._cli = cli
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def start_api(self) -> None:
        self.api.start()
        wait_for(lambda: self.http.get("/healthz").status_code == 200, 60, f"the API ({self.api.tail()})", 0.2)

    def start_worker(self) -> Proc:
        n = len(self.workers)
        argv = [*self._cli, "worker", "--concurrency", "1", "--name", f"w{n}@test"]
        w = Proc(f"worker{n}", argv, self.env, self.logs)
        w.start()
        self.workers.append(w)
        return w

    def __enter__(self) -> Cluster:
        self.redis.start()
        self.start_api()
        return self

    def __exit__(self, *exc: object) -> None:
        for w in self.workers:
            w.stop()
        self.api.stop()
        self.redis.stop()
        self.http.close()

    def logs_tail(self) -> str:
        procs = [self.api, *self.workers, self.redis]
        return "\n".join(f"--- {p.name} ---\n{p.tail(25)}" for p in procs)

    # --- API calls ---------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        r = self.http.request(method, path, json=body)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def job(self, job_id: str) -> dict[str, Any]:
        res: dict[str, Any] = self.call("GET", f"/v1/jobs/{job_id}", expect=200)
        return res

    def points(self, collection: str) -> int:
        return int(self.call("GET", f"/v1/collections/{collection}", expect=200)["points"])

    def wait_job(self, job_id: str, timeout: float = 120, states: tuple[str, ...] = ("done", "failed", "cancelled")) -> dict[str, Any]:  # noqa: E501
        last: dict[str, Any] = {}

        def finished() -> bool:
            nonlocal last
            last = self.job(job_id)
            return last["state"] in states

        try:
            wait_for(finished, timeout, f"job {job_id}", 0.3)
        except AssertionError:
            raise AssertionError(f"job did not finish: {json.dumps(last)[:800]}\n{self.logs_tail()}") from None
        return last

    def wait_progress(self, job_id: str, at_least: int, timeout: float = 90) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def moved() -> bool:
            nonlocal last
            last = self.job(job_id)
            return last["done"] + last["failed"] >= at_least or last["state"] in ("done", "failed", "cancelled")

        try:
            wait_for(moved, timeout, f"job {job_id} to reach {at_least} items", 0.1)
        except AssertionError:
            raise AssertionError(f"no progress: {json.dumps(last)[:800]}\n{self.logs_tail()}") from None
        return last
