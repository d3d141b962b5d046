from __future__ import annotations

from services.sources.subtitles import Cue, overlapping, parse_subtitles

SRT = """1
00:00:00,000 --> 00:00:04,000
a red circle
<i>in the snow</i>

2
00:00:04,000 --> 00:00:08,500
a blue star in the forest
"""

VTT = """WEBVTT

NOTE a comment --> not a cue

intro
00:01.000 --> 00:02.500 align:start
<c.yellow>hello</c>

00:00:03.000 --> 00:00:04.000
world
"""


def test_srt_cues_have_times_and_text_without_tags() -> None:
    assert parse_subtitles(SRT) == [
        Cue(0.0, 4.0, "a red circle\nin the snow"),
        Cue(4.0, 8.5, "a blue star in the forest"),
    ]


def test_vtt_short_times_settings_and_notes() -> None:
    assert parse_subtitles(VTT) == [Cue(1.0, 2.5, "hello"), Cue(3.0, 4.0, "world")]


def test_overlapping_takes_every_cue_shown_in_the_interval() -> None:
    cues = parse_subtitles(SRT)
    assert overlapping(cues, 1.0, 1.1) == "a red circle\nin the snow"
    assert overlapping(cues, 4.0, 4.1) == "a blue star in the forest"  # the first cue ended at 4.0
    assert overlapping(cues, 3.95, 4.05) == "a red circle\nin the snow\na blue star in the forest"
    assert overlapping(cues, 9.0, 9.1) == ""
    assert overlapping([], 0, 1) == ""


def test_garbage_is_no_cue() -> None:
    assert parse_subtitles("not subtitles\n\n12 --> 13\nx") == []
