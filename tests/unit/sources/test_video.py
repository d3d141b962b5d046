"""Decoding and sampling real videos, made here with PyAV from the shapes world (seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.core.settings import Limits, VideoSettings
from services.shapes.film import Scene, two_scene_film, write_film
from services.shapes.world import ShapeSpec
from services.sources.grant import UNRESTRICTED
from services.sources.video import (
    SampleWindow,
    VideoError,
    open_video,
    plan_video,
    read_cues,
    sample_frames,
)

LIMITS = Limits()


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_film(tmp_path_factory.mktemp("film") / "film.mp4", two_scene_film(), fps=12)


def _sample(path: Path, settings: VideoSettings, window: SampleWindow | None = None) -> list[tuple[float, int, bool]]:
    f, container, info = open_video(path, LIMITS)
    with f:
        try:
            return [
                (s.timestamp, s.shot, s.cut)
                for s in sample_frames(container, info, settings, window or SampleWindow(), 64)
            ]
        finally:
            container.close()


def test_frames_every_interval_and_at_the_cut(film: Path) -> None:
    frames = _sample(film, VideoSettings(interval_s=1.0))
    cuts = [t for t, _, cut in frames if cut and t > 0]
    assert len(cuts) == 1 and abs(cuts[0] - 4.0) <= 1.0  # within one sampling step
    assert [t for t, _, _ in frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert [s for _, s, _ in frames] == [0, 0, 0, 0, 1, 1, 1, 1]


def test_cut_between_grid_points_is_sampled(tmp_path: Path) -> None:
    scenes = [
        Scene(ShapeSpec("red", "circle", "large", "snow"), 2.5),
        Scene(ShapeSpec("blue", "star", "large", "forest"), 2.5),
    ]
    path = write_film(tmp_path / "odd.mkv", scenes, fps=10)
    frames = _sample(path, VideoSettings(interval_s=2.0))
    assert [t for t, _, _ in frames] == [0.0, 2.0, 2.5, 4.0]
    assert [s for _, s, _ in frames] == [0, 0, 1, 1]


def test_chunks_of_a_planned_film_give_the_same_frames_as_one_pass(film: Path) -> None:
    settings = VideoSettings(interval_s=1.0, chunk_s=3.0)
    whole = _sample(film, settings)
    plan = plan_video(film, UNRESTRICTED, LIMITS, settings)
    assert len(plan) == 3 and all(spec["cuts"] == [4.0] for spec, _ in plan)
    parts = []
    for spec, _ in plan:
        parts += _sample(
            film, settings, SampleWindow(spec["t0"], spec["t1"] or float("inf"), spec["cap"], spec["cuts"])
        )
    assert [(t, s) for t, s, _ in parts] == [(t, s) for t, s, _ in whole]


def test_the_frame_cap_bounds_a_video(film: Path) -> None:
    assert len(_sample(film, VideoSettings(interval_s=0.25), SampleWindow(cap=5))) == 5
    # max_frames stretches the step: 8 s with at most 4 frames (half the cap) on the clock
    frames = _sample(film, VideoSettings(interval_s=0.25, max_frames=8))
    assert [t for t, _, _ in frames] == [0.0, 2.0, 4.0, 6.0]


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".mov"])
def test_other_containers(tmp_path: Path, suffix: str) -> None:
    codec = "libvpx-vp9" if suffix == ".webm" else "h264"
    path = write_film(tmp_path / f"film{suffix}", two_scene_film(), fps=8, codec=codec, srt=False)
    assert [s for _, s, _ in _sample(path, VideoSettings(interval_s=2.0))] == [0, 0, 1, 1]


def test_truncated_and_garbage_and_unknown_codec_are_video_errors(film: Path, tmp_path: Path) -> None:
    data = film.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # an mp4 keeps its index at the end
    (tmp_path / "junk.mp4").write_bytes(b"\x00not a video" * 100)
    mkv = write_film(tmp_path / "x.mkv", two_scene_film(), srt=False).read_bytes()
    (tmp_path / "unknown.mkv").write_bytes(mkv.replace(b"V_MPEG4/ISO/AVC", b"V_QQQQQ/ISO/QQQ"))
    for name, reason in [
        ("cut.mp4", "not a readable video"),
        ("junk.mp4", "not a readable video"),
        ("unknown.mkv", "unsupported video codec"),
    ]:
        with pytest.raises(VideoError, match=reason):
            open_video(tmp_path / name, LIMITS)


def test_frames_over_the_pixel_limit_are_refused(film: Path) -> None:
    with pytest.raises(VideoError, match="over the limit"):
        open_video(film, Limits(max_image_pixels=100 * 100))


def test_sidecar_srt_and_embedded_subtitles(film: Path, tmp_path: Path) -> None:
    cues = read_cues(film, UNRESTRICTED, None)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (0.0, 4.0, "a red circle in the snow"),
        (4.0, 8.0, "a blue star in the forest"),
    ]
    path = _with_subtitle_stream(tmp_path / "subbed.mkv")
    f, container, _ = open_video(path, LIMITS)
    with f:
        cues = read_cues(path, UNRESTRICTED, container)
        container.close()
    assert [c.text for c in cues] == ["a red circle in the snow", "a blue star in the forest"]
    assert abs(cues[1].start - 4.0) < 0.01 and abs(cues[1].end - 8.0) < 0.01


def _with_subtitle_stream(path: Path) -> Path:
    """A film with its subtitles muxed in as a SubRip stream (from the .srt, which is then removed)."""
    import av

    src = write_film(path.with_name("src.mkv"), two_scene_film())
    srt = src.with_suffix(".srt")
    with av.open(str(src)) as inp, av.open(str(srt)) as subs, av.open(str(path), "w") as out:
        vin, sin = inp.streams.video[0], subs.streams.subtitles[0]
        vout, sout = out.add_stream_from_template(vin), out.add_stream_from_template(sin)
        for packet in inp.demux(vin):
            if packet.dts is not None:
                packet.stream = vout
                out.mux(packet)
        for packet in subs.demux(sin):
            if packet.dts is not None:
                packet.stream = sout
                out.mux(packet)
    srt.unlink()
    return path


@pytest.mark.parametrize("fmt", ["yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12", "rgb24"])
def test_the_cut_detectors_copy_read_from_the_planes_matches_swscales(film: Path, fmt: str) -> None:
    """The planar fast path picks pixels from the decoded planes; it must show the colours swscale shows
    (within grain and point-sampling noise), for full- and limited-range layouts and the fallback ones."""
    import av
    import numpy as np

    from services.sources.cuts import distance, signature
    from services.sources.video import _small

    with av.open(str(film)) as c:
        frames = [f.reformat(format=fmt) for i, f in zip(range(40), c.decode(video=0), strict=False)]
    for frame in frames[::13]:
        ours = _small(frame, 64, 36)
        ref = frame.to_ndarray(width=64, height=36, format="rgb24", interpolation="FAST_BILINEAR")
        assert ours.shape == ref.shape == (36, 64, 3) and ours.dtype == np.uint8
        assert np.abs(ours.astype(int).mean((0, 1)) - ref.astype(int).mean((0, 1))).max() < 6
        assert distance(signature(ours), signature(ref)) < 0.15
