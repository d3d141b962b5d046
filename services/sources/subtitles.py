"""Subtitles as timed cues: ``.srt`` and WebVTT sidecars, and a video's embedded text subtitle stream.

A frame's alt-text is the text of the cues that overlap it (``overlapping``): a video's subtitles are the
alt-text of its frames.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})")
_ARROW = re.compile(rf"({_TIME.pattern})\s*-->\s*({_TIME.pattern})")
_TAG = re.compile(r"<[^>]{0,200}>|\{\\[^}]{0,200}\}")  # <i>, <c.red>, <00:01.000> and ASS {\an8}


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` (seconds), ``text`` with markup removed."""

    start: float
    end: float
    text: str


def _seconds(stamp: str) -> float:
    m = _TIME.fullmatch(stamp.strip())
    if m is None:  # pragma: no cover - the caller matched _ARROW, which is built from _TIME
        raise ValueError(stamp)
    h, mnt, s, frac = m.groups()
    return int(h or 0) * 3600 + int(mnt) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def clean(text: str) -> str:
    """Cue text without tags, one line per line, surrounding space trimmed."""
    lines = (_TAG.sub("", line).strip() for line in text.replace("\\N", "\n").splitlines())
    return "\n".join(line for line in lines if line)


def parse_subtitles(text: str) -> list[Cue]:
    """Cues of an SRT or WebVTT file (both: blocks of ``start --> end`` then text lines), sorted by start.

    Numbering lines, ``WEBVTT`` headers, ``NOTE``/``STYLE`` blocks and cue settings after the times are
    ignored; a block without a valid time line is skipped, not an error."""
    cues: list[Cue] = []
    for block in re.split(r"\r?\n\s*\r?\n", text.lstrip("\ufeff")):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            m = _ARROW.search(line)
            if m is None:
                continue
            start, end = _seconds(m.group(1)), _seconds(m.group(6))
            body = clean("\n".join(lines[i + 1 :]))
            if body and end > start:
                cues.append(Cue(start, end, body))
            break
    cues.sort(key=lambda c: (c.start, c.end))
    return cues


def overlapping(cues: Sequence[Cue], start: float, end: float) -> str:
    """The text of every cue shown during [start, end) (seconds), in order, one cue per line."""
    if not cues:
        return ""
    starts = [c.start for c in cues]
    hi = bisect.bisect_left(starts, end)
    # Cues are sorted by start only; scanning back from ``hi`` finds every one still showing at ``start``.
    texts = [c.text for c in cues[:hi] if c.end > start]
    return "\n".join(dict.fromkeys(texts))


def embedded_cues(container: Any, stream: Any) -> list[Cue]:
    """Text cues of an embedded subtitle stream (SubRip, WebVTT, ASS/SSA, mov_text); bitmap subtitles
    (DVD, PGS) have no text and give none. ``container``/``stream`` are PyAV objects."""
    base = float(stream.time_base) if stream.time_base is not None else 0.001
    cues: list[Cue] = []
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        t0 = packet.pts * base
        length = (packet.duration or 0) * base
        texts: list[str] = []
        start, end = t0, t0 + length
        for sub in _decoded(packet):
            # PyAV < 15 hands a SubtitleSet (display times, rects); later versions the rects themselves.
            rects = getattr(sub, "rects", None)
            texts += [_rect_text(r) for r in (rects if rects is not None else (sub,))]
            shown, hidden = getattr(sub, "start_display_time", 0), getattr(sub, "end_display_time", 0)
            if hidden > shown:
                start, end = t0 + shown / 1000, t0 + hidden / 1000
        text = clean("\n".join(t for t in texts if t))
        if text and end > start:
            cues.append(Cue(start, end, text))
    cues.sort(key=lambda c: (c.start, c.end))
    return cues


def _decoded(packet: Any) -> Iterable[Any]:
    try:
        return list(packet.decode())
    except Exception:  # a damaged subtitle packet costs its cue, not the video
        return []


def _rect_text(rect: Any) -> str:
    dialogue = getattr(rect, "dialogue", None)  # PyAV ≥ 15: the ASS event's text, markup included
    if isinstance(dialogue, bytes) and dialogue:
        return dialogue.decode("utf-8", errors="replace")
    text = getattr(rect, "text", None)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if text:
        return str(text)
    ass = getattr(rect, "ass", None)
    if isinstance(ass, bytes):
        ass = ass.decode("utf-8", errors="replace")
    # ASS dialogue: "ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text" (the text is field 9).
    return str(ass).split(",", 8)[-1] if ass else ""
