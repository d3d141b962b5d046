"""The filtered-search beam: the unfiltered one up to a small share, ef / share above it, capped."""

from __future__ import annotations

import pytest

from services.vectorstore.beam import filtered_beam


def test_the_widest_filtered_beam_is_hnsw_ef_filtered() -> None:
    assert filtered_beam(0.2, ef=640, ef_max=1024) == 1024  # 640 / 0.2 = 3200, capped
    assert filtered_beam(0.5, ef=640, ef_max=2048) == 1280
    assert filtered_beam(0.9, ef=640, ef_max=1024) == 712
    assert filtered_beam(1.0, ef=640, ef_max=1024) == 640
    assert filtered_beam(0.01, ef=640, ef_max=1024) == 640
    assert filtered_beam(0.5, ef=640, ef_max=100) == 640  # never narrower than the unfiltered beam
    with pytest.raises(ValueError, match="share"):
        filtered_beam(1.5, ef=640, ef_max=1024)
