"""Short excerpts of user input for error messages: a huge expression or filter is quoted, never echoed whole.

One place decides how much of an input a message may repeat, so a 200 MB body cannot come back in a 422
(nor fill the log), and every message that quotes input reads alike.
"""

from __future__ import annotations

EXCERPT_CHARS = 200


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` itself when short, else its first ``limit`` characters, an ellipsis and the total length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def quoted(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)`` as an excerpt: for messages that quote a key or value (``{quoted(key)}``).

    Containers are cut before ``repr`` walks them whole: a 50,000-item list is not rendered just to be cut.
    """
    if isinstance(value, list | tuple | dict | set) and len(value) > limit:
        return f"<{type(value).__name__} of {len(value):,} items>"
    return excerpt(repr(value), limit)
