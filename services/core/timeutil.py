"""UTC timestamps that compare correctly on both databases.

PostgreSQL returns ``timestamptz`` values as aware datetimes; SQLite stores no zone and returns naive
ones (written as UTC by this code). ``aware`` makes both comparable with ``utcnow()``.
"""

from __future__ import annotations

import datetime as dt
from typing import overload


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def aware(value: dt.datetime) -> dt.datetime: ...
@overload
def aware(value: None) -> None: ...
@overload
def aware(value: dt.datetime | None) -> dt.datetime | None: ...
def aware(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime (naive values are UTC by this project's convention)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
