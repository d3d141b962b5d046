"""``--help`` without a ``<bool>`` on every flag.

typer 0.29's rich help prints an option's value type beside it, flags included, although a flag takes no
value (``--explain/--no-explain <bool>``); its plain-text help already leaves the type off for flags. This
gives the rich help the same rule: a flag or a counter shows no type.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

_display_type_rich = TyperOption.display_type_rich


def _no_type_on_flags(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    return _display_type_rich(self, ctx)


def hide_flag_types() -> None:
    TyperOption.display_type_rich = _no_type_on_flags  # type: ignore[method-assign]
