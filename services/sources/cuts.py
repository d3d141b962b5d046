"""Shot-cut detection on colour histograms: pure functions on small RGB frames.

A frame's signature is its three 16-bin channel histograms (normalised); two frames differ by half the
L1 distance of their signatures, in [0, 1] (0: same colours, 1: no colour in common). A cut is a
frame whose distance to the previous frame is at least the threshold, and at least ``min_shot_s``
after the previous cut. Small motion within a shot moves a few pixels, not the histogram; a cut to
another scene replaces it. See docs/video.md for why this and not PySceneDetect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

BINS = 16
Signature = npt.NDArray[np.float32]


def signature(rgb: npt.NDArray[np.uint8]) -> Signature:
    """(3·BINS,) histograms of an (h, w, 3) uint8 frame, each channel summing to 1."""
    q = (rgb.reshape(-1, 3) >> 4).astype(np.intp)  # 256 levels → 16 bins
    counts = np.stack([np.bincount(q[:, c], minlength=BINS) for c in range(3)]).astype(np.float32)
    out: Signature = (counts / max(1, q.shape[0])).reshape(-1)
    return out


def distance(a: Signature, b: Signature) -> float:
    """Half the L1 distance averaged over the three channels, in [0, 1]."""
    return float(np.abs(a - b).sum() / 6.0)


@dataclass
class CutDetector:
    """Fed frames in time order (``feed``), says which start a new shot."""

    threshold: float
    min_shot_s: float
    _last: Signature | None = None
    _last_cut: float | None = None
    cuts: list[float] = field(default_factory=list)

    def feed(self, t: float, sig: Signature) -> bool:
        """True when the frame at ``t`` seconds (signature ``sig``) is the first of a new shot."""
        prev, self._last = self._last, sig
        if prev is None:
            return False
        if distance(prev, sig) < self.threshold:
            return False
        if self._last_cut is not None and t - self._last_cut < self.min_shot_s:
            return False
        self._last_cut = t
        self.cuts.append(t)
        return True
