"""Run several ``signifier`` commands in one interpreter: ``python -m tests.support.cli_batch '[["admin", ...], ...]'``.

Each command goes through the real command line (the same Typer app, argument parsing, settings from the
environment, database and output) as ``signifier ARGS`` would; only the interpreter start (~1 s of CPU
for torch, SQLAlchemy and alembic imports) is shared. Prints one JSON line per command:
``{"args": [...], "returncode": N, "stdout": "...", "stderr": "..."}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys


def run(args: list[str]) -> dict[str, object]:
    from services.cli.main import app

    out, err = io.StringIO(), io.StringIO()
    code = 0
    # The CLI's logging.basicConfig binds the stderr of the command that first runs it: start each command
    # unconfigured, so its log lines land in its own stderr as in a process of its own.
    for handler in logging.root.handlers[:]:
        logging.root.removeHandler(handler)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(args, prog_name="signifier")
        except SystemExit as exc:  # click's standalone mode ends every command with one
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return {"args": args, "returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    for args in json.loads(sys.argv[1]):
        sys.__stdout__.write(json.dumps(run(args)) + "\n")  # type: ignore[union-attr]
        sys.__stdout__.flush()  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
