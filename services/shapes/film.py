"""Synthetic films of the shapes world, encoded with PyAV: scenes (a shape on a background) with small
motion between frames, hard cuts between scenes, optional grain, and ``.srt`` subtitles.

Tests and ``bench/video.py`` make their videos with this, in seconds; nothing is downloaded.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from services.shapes.world import ShapeSpec, render

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Scene:
    """``seconds`` of one shapes image, panned a little every frame; ``subtitle`` shown over the whole scene."""

    spec: ShapeSpec
    seconds: float
    subtitle: str | None = None


def scene_frames(
    scene: Scene, fps: int, size: tuple[int, int], rng: random.Random, noise: float = 0.0
) -> Iterator[Frame]:
    """The scene's frames, (h, w, 3) uint8: the shapes render upscaled to ``size``, shifted by a pixel or so
    per frame (small motion: consecutive frames differ, the content does not), with per-frame grain."""
    w, h = size
    base = render(scene.spec, rng, size=96).resize((w + w // 8, h + h // 8), Image.Resampling.BILINEAR)
    canvas = np.asarray(base, dtype=np.uint8)
    nrng = np.random.default_rng(rng.getrandbits(32))
    steps = max(1, round(scene.seconds * fps))
    reach_x, reach_y = canvas.shape[1] - w, canvas.shape[0] - h
    for i in range(steps):
        t = i / steps
        x, y = int(reach_x * t), int(reach_y * (0.5 + 0.5 * np.sin(2 * np.pi * t)) * 0.5)
        frame = canvas[y : y + h, x : x + w]
        if noise > 0:
            grain = nrng.normal(0.0, noise, size=(h // 4, w // 4, 1)).astype(np.float32)
            grain = np.repeat(np.repeat(grain, 4, axis=0), 4, axis=1)
            frame = np.clip(frame.astype(np.float32) + grain, 0, 255).astype(np.uint8)
        yield np.ascontiguousarray(frame)


def srt_text(scenes: Sequence[Scene]) -> str:
    """An ``.srt`` file with one cue per scene that has a subtitle, timed to the scene."""
    out, t, n = [], 0.0, 0
    for s in scenes:
        if s.subtitle:
            n += 1
            out.append(f"{n}\n{_srt_time(t)} --> {_srt_time(t + s.seconds)}\n{s.subtitle}\n")
        t += s.seconds
    return "\n".join(out)


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_film(
    path: Path,
    scenes: Sequence[Scene],
    fps: int = 12,
    size: tuple[int, int] = (160, 120),
    seed: int = 0,
    noise: float = 0.0,
    codec: str = "h264",
    srt: bool = True,
) -> Path:
    """Encode the scenes into ``path`` (container from the suffix: .mp4, .mkv, .webm, .mov) and, with
    ``srt``, write ``path.srt`` beside it when any scene has a subtitle. Returns ``path``."""
    import av
    from av.video.stream import VideoStream

    rng = random.Random(seed)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if codec in ("h264", "libx264"):
            stream.options = {"preset": "veryfast", "crf": "23"}
        for scene in scenes:
            for frame in scene_frames(scene, fps, size, rng, noise):
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    if srt and any(s.subtitle for s in scenes):
        path.with_suffix(".srt").write_text(srt_text(scenes), encoding="utf-8")
    return path


def two_scene_film() -> list[Scene]:
    """The films tests make: a red circle in the snow for 0–4 s, then a blue star in the forest for 4–8 s."""
    return [
        Scene(ShapeSpec("red", "circle", "large", "snow"), 4.0, "a red circle in the snow"),
        Scene(ShapeSpec("blue", "star", "large", "forest"), 4.0, "a blue star in the forest"),
    ]
