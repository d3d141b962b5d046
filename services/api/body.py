"""Request bodies of the routes that take JSON or multipart: one form reader, one ``parse_body``.

A body that does not validate is answered like any other invalid request: ``RequestValidationError``,
so the one handler in ``services.api.errors`` gives it its shape (``invalid_request`` with ``problems``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from services.api.body_limit import lower_body_cap
from services.api.text_input import check_text
from services.core.errors import InvalidInput, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)

# The names a file part may have, on every route that takes uploads ("files" is the documented one).
UPLOAD_FIELDS = ("files", "file", "uploads", "images")


@dataclass(frozen=True)
class FormLimits:
    """What one route's form may hold: ``max_files`` files of at most ``max_file_bytes`` each, at most
    ``max_fields`` parts in all. ``body_cap`` (with the setting that names it) lowers the request's
    multipart body cap before the form is read. Text fields named in ``repeated`` may be given more
    than once (one per file); any other given twice is refused."""

    max_files: int
    max_fields: int
    max_file_bytes: int
    body_cap: int | None = None
    body_cap_setting: str = ""
    repeated: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FilePart:
    """One uploaded file; ``read`` refuses it (413) when it is over the route's per-file cap."""

    index: int
    filename: str | None
    upload: UploadFile
    max_bytes: int

    async def read(self) -> bytes:
        data = await self.upload.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(
                f"upload {self.index} ({self.filename!r}) is over the limit of {self.max_bytes:,} bytes"
            )
        return data


@dataclass(frozen=True)
class MultipartForm:
    fields: dict[str, str]  # text fields given once
    lists: dict[str, list[str]] = field(default_factory=dict)  # the ``repeated`` fields, in order
    files: list[FilePart] = field(default_factory=list)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def read_form(request: Request, limits: FormLimits) -> MultipartForm:
    """The request's multipart form: text fields and file parts (``files``, in order).

    Refuses more than ``max_files`` files (422) and any file whose declared size is over
    ``max_file_bytes`` (413); a file's content is checked again as it is read (``FilePart.read``).
    """
    if limits.body_cap is not None:
        # Enforced by the body-limit middleware from Content-Length and, for a chunked body, while it streams.
        lower_body_cap(request, limits.body_cap, limits.body_cap_setting)
    form = await request.form(max_files=limits.max_files + 1, max_fields=limits.max_fields)
    fields: dict[str, str] = {}
    lists: dict[str, list[str]] = {name: [] for name in limits.repeated}
    uploads: list[UploadFile] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key not in UPLOAD_FIELDS:
                raise InvalidInput(f"unexpected file part {key!r}: send images as 'files' parts")
            uploads.append(value)
        elif key in lists:
            lists[key].append(value)
        elif key in fields:
            raise InvalidInput(f"form field {key!r} is given twice")
        else:
            fields[key] = value
    if len(uploads) > limits.max_files:
        raise InvalidInput(f"at most {limits.max_files} uploaded files per request, got {len(uploads)}")
    files: list[FilePart] = []
    for i, f in enumerate(uploads):
        if f.size is not None and f.size > limits.max_file_bytes:
            raise PayloadTooLarge(
                f"upload {i} ({f.filename!r}) is {f.size:,} bytes, over the limit of {limits.max_file_bytes:,}"
            )
        files.append(FilePart(i, f.filename, f, limits.max_file_bytes))
    return MultipartForm(fields, lists, files)


def form_json(fields: dict[str, str]) -> dict[str, Any]:
    """The request object of a multipart form: its ``query`` field (JSON), or the plain fields.

    Plain fields are taken as JSON where they parse (``limit=5``, ``explain=true``, ``filter={...}``),
    else as strings (``expression="a" - "b"`` is not JSON, so it stays text).
    """
    if "query" in fields:
        if len(fields) > 1:
            raise InvalidInput("send either a 'query' JSON field or separate fields, not both")
        try:
            obj = json.loads(fields["query"])
        except ValueError as exc:
            raise InvalidInput(f"form field 'query' is not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise InvalidInput("form field 'query' must be a JSON object")
        check_text(obj, "query")
        return obj
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "expression":
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    check_text(out, "form")  # a JSON escape in a field ("\\udc30") decodes to a lone surrogate
    return out


def validate(model: type[M], raw: bytes | dict[str, Any]) -> M:
    """``raw`` (JSON bytes, or an object) as ``model``; invalid input is a ``RequestValidationError``."""
    try:
        return model.model_validate_json(raw) if isinstance(raw, bytes) else model.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None


@dataclass(frozen=True)
class Body(Generic[M]):
    value: M
    form: MultipartForm | None = None  # the multipart form the value came from, with its files


async def parse_body(
    request: Request,
    model: type[M],
    form_limits: FormLimits,
    from_form: Callable[[MultipartForm], dict[str, Any]] = lambda form: form_json(form.fields),
) -> Body[M]:
    """The request body as ``model``: a JSON body, or a multipart form (``from_form`` makes the object
    to validate from its fields; the form, with its files, comes back beside the value)."""
    if is_multipart(request):
        form = await read_form(request, form_limits)
        return Body(validate(model, from_form(form)), form)
    return Body(validate(model, await request.body()))
