"""The optional fields of a search body, built once for every caller (the CLI and the Python client), so
that a new search option is added in one place."""

from __future__ import annotations

from typing import Any


def search_options(
    *,
    dedup: bool = False,
    dedup_threshold: float | None = None,
    diversity: float | None = None,
    relative: bool = False,
    min_z: float | None = None,
    min_percentile: float | None = None,
    background: list[str] | None = None,
) -> dict[str, Any]:
    """The options that are set: unset ones are left out, since an older server refuses unknown fields."""
    extra = {
        "dedup": dedup or None,
        "dedup_threshold": dedup_threshold,
        "diversity": diversity,
        "relative": relative or None,
        "min_z": min_z,
        "min_percentile": min_percentile,
        "background": background or None,
    }
    return {k: v for k, v in extra.items() if v is not None}
