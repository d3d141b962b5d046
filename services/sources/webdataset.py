"""WebDataset tar shards (what img2dataset and LAION tools write): ``{key}.jpg`` + ``{key}.txt`` / ``{key}.json``.

Shards are streamed member by member with ``tarfile`` (no extraction to disk, one sample in memory at a
time). Samples are consecutive members sharing a key: the member path up to the first dot of its base
name. A broken shard ends in one ``FailedItem`` naming the shard and what was lost, after the samples
read before the break; an oversized member, a sample without an image or a bad JSON sidecar fail alone.

A member over ``max_member_bytes`` (``Limits.max_upload_bytes``, the cap every other image source has) is
judged by its header and skipped unread: its sample fails with the member's size and the limit.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.core.errors import InvalidInput
from services.core.settings import Limits
from services.sources.grant import UNRESTRICTED, PathRefused, ReadGrant
from services.sources.items import FailedItem, SourceItem

Entry = SourceItem | FailedItem

SHARD_SUFFIXES = (".tar", ".tar.gz", ".tgz")
IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")
TEXT_KEYS = ("caption", "TEXT", "alt_text", "text")
MAX_SHARDS = 100_000
DEFAULT_MAX_MEMBER_BYTES = Limits().max_upload_bytes

_GROUP = re.compile(r"\{(?:(\d+)\.\.(\d+)|([^{}]*,[^{}]*))\}")


def expand_braces(pattern: str, limit: int = MAX_SHARDS) -> list[str]:
    """Bash-style expansion: ``{00000..00003}`` (zero padding kept from the first bound) and ``{a,b}``.

    Raises ``InvalidInput`` past ``limit`` names, so a typo cannot ask for a billion shards.
    """
    m = _GROUP.search(pattern)
    if m is None:
        return [pattern]
    if m.group(1) is not None:
        lo, hi = int(m.group(1)), int(m.group(2))
        if abs(hi - lo) + 1 > limit:
            raise InvalidInput(f"shard pattern {pattern!r} names {abs(hi - lo) + 1:,} shards; the limit is {limit:,}")
        step = 1 if hi >= lo else -1
        options = [str(i).zfill(len(m.group(1))) for i in range(lo, hi + step, step)]
    else:
        options = m.group(3).split(",")
    rests = expand_braces(pattern[m.end() :], limit)
    if len(options) * len(rests) > limit:
        raise InvalidInput(f"shard pattern {pattern!r} names more than {limit:,} shards")
    head = pattern[: m.start()]
    return [head + opt + rest for opt in options for rest in rests]


def is_webdataset(raw: str) -> bool:
    """A ``.tar`` shard path or a brace pattern of shards."""
    return raw.lower().endswith(SHARD_SUFFIXES)


def _split_key(name: str) -> tuple[str, str]:
    """``dir/000012.jpg`` → (``dir/000012``, ``jpg``); ``a.seg.json`` → (``a``, ``seg.json``)."""
    slash = name.rfind("/") + 1
    dot = name.find(".", slash)
    if dot < 0:
        return name, ""
    return name[:dot], name[dot + 1 :].lower()


class WebDatasetReader:
    """Samples of one or more tar shards, in shard order; each shard is opened through the ``grant``."""

    def __init__(
        self, shards: list[Path], max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES, grant: ReadGrant = UNRESTRICTED
    ) -> None:
        if not shards:
            raise InvalidInput("no shards given")
        self.shards = shards
        self.max_member_bytes = max_member_bytes
        self.grant = grant

    @classmethod
    def from_pattern(
        cls,
        pattern: str,
        max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
        grant: ReadGrant = UNRESTRICTED,
        shown: str | None = None,
    ) -> WebDatasetReader:
        """Shards named by a path or brace pattern; every named shard must exist under the grant.

        ``shown``: the pattern as the caller gave it (``pattern`` may be that pattern made absolute)."""
        shards = [Path(p).expanduser() for p in expand_braces(pattern)]
        names = expand_braces(shown) if shown is not None and shown != pattern else [str(p) for p in shards]
        refused: list[PathRefused] = []
        for shard, name in zip(shards, names, strict=False):
            try:
                if not os.path.isfile(grant.check(shard, name)):
                    refused.append(grant.refused(name, "not a file"))
            except PathRefused as exc:
                refused.append(exc)
        if refused:
            more = f" (and {len(refused) - 1:,} more)" if len(refused) > 1 else ""
            if grant.explain and not grant.deny:  # library use: the message it always had
                missing = [s for s in shards if not s.is_file()]
                raise InvalidInput(f"shard not found: {missing[0]}{more}")
            raise PathRefused(f"{refused[0].message}{more}")
        return cls(shards, max_member_bytes, grant)

    def count(self) -> int:
        return sum(self.count_shard(s) for s in self.shards)

    def __iter__(self) -> Iterator[Entry]:
        for shard in self.shards:
            yield from self.read_shard(shard)

    def plan(self, chunk_size: int) -> Iterator[tuple[dict[str, Any], int]]:
        """One chunk per shard (shards are the unit img2dataset writes; ~10k samples each)."""
        for shard in self.shards:
            yield {"shard": str(shard)}, self.count_shard(shard)

    def read_chunk(self, spec: dict[str, Any]) -> Iterator[Entry]:
        return self.read_shard(Path(spec["shard"]))

    # --- one shard ---------------------------------------------------------------------------

    def count_shard(self, shard: Path) -> int:
        """Entries ``read_shard`` yields, from the headers alone (a seekable scan, no image bytes read)."""
        n, last = 0, None
        try:
            # In a plain tar a member whose data runs past the end is where reading stops (one failure).
            with self.grant.open(shard) as f, tarfile.open(fileobj=f, mode="r:*") as tf:
                size = os.fstat(f.fileno()).st_size if shard.name.lower().endswith(".tar") else None
                for m in tf:
                    if not m.isfile():
                        continue
                    key, _ = _split_key(m.name)
                    if key != last:
                        n, last = n + 1, key
                    if size is not None and m.offset_data + m.size > size:
                        return n
        except (tarfile.TarError, OSError, EOFError, PathRefused):
            n += 1  # the reader ends such a shard with one failure entry
        return n

    def read_shard(self, shard: Path) -> Iterator[Entry]:
        key: str | None = None
        members: dict[str, bytes] = {}
        oversized: dict[str, int] = {}  # extension -> size of a member skipped unread
        try:
            with self.grant.open(shard) as fh, tarfile.open(fileobj=fh, mode="r|*") as tf:
                for m in tf:
                    if not m.isfile():
                        continue
                    k, ext = _split_key(m.name)
                    if k != key:
                        if key is not None:
                            yield self._sample(shard, key, members, oversized)
                        key, members, oversized = k, {}, {}
                    if m.size > self.max_member_bytes:
                        oversized[ext] = m.size  # too big: the sample fails, its bytes are never read
                        continue
                    f = tf.extractfile(m)
                    try:
                        members[ext] = f.read() if f is not None else b""
                    except (tarfile.TarError, OSError, EOFError) as exc:
                        lost = f"broken tar shard: {exc}; the rest of {shard.name} is lost"
                        yield FailedItem(f"{shard}#{m.name}", lost)
                        return
        except PathRefused as exc:  # swapped since the pattern was checked: one failure, in the grant's words
            yield FailedItem(str(shard), exc.message)
            return
        except (tarfile.TarError, OSError, EOFError) as exc:
            if key is not None:
                yield self._sample(shard, key, members, oversized)
            yield FailedItem(str(shard), f"broken or unreadable tar shard: {exc}")
            return
        if key is not None:
            yield self._sample(shard, key, members, oversized)

    def _sample(self, shard: Path, key: str, members: dict[str, bytes], oversized: dict[str, int]) -> Entry:
        image_ext = next((e for e in IMAGE_EXTS if e in members or e in oversized), None)
        source = f"{shard}#{key}.{image_ext}" if image_ext else f"{shard}#{key}"
        if image_ext is None:
            found = ", ".join(sorted({*members, *oversized})) or "nothing"
            return FailedItem(source, f"sample has no image (.jpg, .jpeg, .png, .webp); found {found}")
        if oversized:
            ext, size = next(iter(oversized.items()))
            return FailedItem(
                source,
                f"member {key}.{ext} is {size:,} bytes, over the limit of {self.max_member_bytes:,} bytes "
                "(SIGNIFIER_LIMITS__MAX_UPLOAD_BYTES); it was not read",
            )
        data = members[image_ext]
        meta: dict[str, Any] = {}
        alt: str | None = None
        if "json" in members:
            try:
                doc = json.loads(members["json"] or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return FailedItem(source, f"invalid JSON sidecar {key}.json: {exc}")
            if isinstance(doc, dict):
                alt = next((str(doc[k]) for k in TEXT_KEYS if doc.get(k) not in (None, "")), None)
                meta = {
                    k: v
                    for k, v in doc.items()
                    if k not in TEXT_KEYS and isinstance(v, str | int | float | bool) and not k.startswith("_")
                }
        if "txt" in members:
            alt = (members["txt"] or b"").decode("utf-8", errors="replace").strip()
        return SourceItem(source, "bytes", alt, meta, data)
