"""What every ``signifier`` command shares: the ``--api``/``--key`` options, the consoles, the one error line."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err = Console(stderr=True, soft_wrap=True)

ApiOpt = Annotated[
    str | None,
    typer.Option("--api", envvar="SIGNIFIER_API", help="Talk to a running server (e.g. http://127.0.0.1:8000)."),
]
KeyOpt = Annotated[str | None, typer.Option("--key", envvar="SIGNIFIER_API_KEY", help="API key for --api.")]
FilterOpt = Annotated[
    str | None,
    typer.Option("--filter", help='A payload filter as JSON: \'{"color": "blue"}\' or Qdrant\'s {"must": [...]}.'),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the raw JSON response.")]

_state = {"verbose": False}


def set_verbose(verbose: bool) -> None:
    _state["verbose"] = verbose


def fail(message: str, code: int = 1) -> typer.Exit:
    """One readable line on stderr; with ``--verbose``, the traceback of the exception being handled first."""
    if _state["verbose"] and sys.exc_info()[0] is not None:
        err.print_exception()
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def parse_filter(filter_json: str | None) -> dict[str, Any] | None:
    if filter_json is None:
        return None
    try:
        value = json.loads(filter_json)
    except json.JSONDecodeError as exc:
        raise fail(f"--filter is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise fail("--filter must be a JSON object")
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")
