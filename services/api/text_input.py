"""Request text must be Unicode text: a lone UTF-16 surrogate is refused as invalid input, with where it is.

JSON lets a client write ``"\\udc30"``; Python's ``json`` decodes that to a one-character string holding a
lone surrogate, which is not text: UTF-8 cannot encode it, the tokenizer rejects it, and any error or
response that echoed it would fail to render. So every JSON body (and the JSON fields of a multipart form)
is checked once, after it is parsed and before any route sees it, and a surrogate anywhere in it (in a key
or a value, at any depth) is a 422 naming the field and the character offset.
"""

from __future__ import annotations

import re
from email.message import Message

from fastapi import Request

from services.core.errors import InvalidText

SURROGATE_RE = re.compile("[\ud800-\udfff]")


def find_lone_surrogate(value: object) -> tuple[str, int, str] | None:
    """The first lone surrogate in a parsed JSON value: ``(field, offset, character)``, or None.

    ``field`` is dotted like the validation errors' (``texts.0``, ``filter.must.1.key``; ``''`` for the
    value itself); for a dict key it names the key's parent and the key. ``offset`` counts characters.
    The walk is iterative, so a deeply nested body costs no stack.
    """
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        field, item = stack.pop()
        if isinstance(item, str):
            if item.isascii():  # O(1)-ish fast path: base64 uploads are megabytes of ASCII
                continue
            m = SURROGATE_RE.search(item)
            if m is not None:
                return field, m.start(), m.group()
        elif isinstance(item, dict):
            children: list[tuple[str, object]] = []
            for key, child in item.items():
                name = f"{field}.{key}" if field else str(key)
                if isinstance(key, str) and not key.isascii() and (m := SURROGATE_RE.search(key)) is not None:
                    return f"{field} (a key)" if field else "a key", m.start(), m.group()
                children.append((name, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{field}.{i}" if field else str(i), c) for i, c in enumerate(item)]))
    return None


def check_text(value: object, where: str = "body") -> None:
    """Raise ``InvalidText`` (422) if ``value`` holds a lone surrogate anywhere."""
    found = find_lone_surrogate(value)
    if found is None:
        return
    field, offset, ch = found
    name = field or where
    raise InvalidText(
        f"{name}: invalid character \\u{ord(ch):04x} at offset {offset} (a lone surrogate, e.g. from a "
        "'\\udc30' JSON escape): send valid Unicode text",
        field=name,
        position=offset,
    )


def _is_json(content_type: str | None) -> bool:
    # The same test FastAPI applies before it parses a body as JSON.
    if not content_type:
        return False
    msg = Message()
    msg["content-type"] = content_type
    sub = msg.get_content_subtype()
    return msg.get_content_maintype() == "application" and (sub == "json" or sub.endswith("+json"))


async def reject_lone_surrogates(request: Request) -> None:
    """App-wide dependency: the parsed JSON body of a route that declares one holds only valid text.

    FastAPI has parsed the body before dependencies run and Starlette caches it, so this reads it again
    for free. Routes that read their own body (search) parse it with pydantic's JSON parser, which refuses
    lone surrogates itself; ``query_io.form_json`` checks the JSON it parses out of form fields.
    """
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None or not _is_json(request.headers.get("content-type")):
        return
    if not await request.body():
        return  # no body: FastAPI parsed nothing, and validation reports the missing body
    try:
        body = await request.json()
    except ValueError:
        return  # unreachable (FastAPI refused it first), and never this check's 500
    check_text(body)
