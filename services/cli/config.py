"""The CLI's settings: read once per command; a bad ``SIGNIFIER_*`` value is one readable line and exit 2.

Validators on ``Settings`` (services/core/settings.py) refuse unsafe values, e.g. an empty or short
``SIGNIFIER_INTERNAL_TOKEN``; a pydantic traceback would bury that message, so it is printed alone.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from services.core.settings import Settings

err = Console(stderr=True, soft_wrap=True)


def settings_problem(exc: ValidationError) -> str:
    """One line naming each bad variable and what to do about it (never its value: it may be a secret)."""
    parts = []
    for e in exc.errors(include_input=False, include_url=False):
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        if not msg.startswith("SIGNIFIER_"):
            name = "SIGNIFIER_" + "__".join(str(p) for p in e.get("loc", ())).upper()
            msg = f"{name}: {msg}"
        parts.append(msg)
    return "; ".join(parts)


def load_settings() -> Settings:
    """``Settings()``, or exit 2 with one line on stderr when a variable is invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        err.print(f"[bold red]error:[/] {escape(settings_problem(exc))}")
        raise typer.Exit(2) from None
