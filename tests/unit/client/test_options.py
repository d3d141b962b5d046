"""The one builder of a search body's optional fields, shared by the CLI and the Python client."""

from __future__ import annotations

from services.client.options import search_options


def test_unset_options_are_left_out() -> None:
    assert search_options() == {}
    assert search_options(dedup=False, relative=False, background=[]) == {}


def test_set_options_are_sent_as_given() -> None:
    body = search_options(
        dedup=True,
        dedup_threshold=0.9,
        diversity=0.3,
        relative=True,
        min_z=1.5,
        min_percentile=90.0,
        background=['"asdfgh"'],
    )
    assert body == {
        "dedup": True,
        "dedup_threshold": 0.9,
        "diversity": 0.3,
        "relative": True,
        "min_z": 1.5,
        "min_percentile": 90.0,
        "background": ['"asdfgh"'],
    }


def test_a_zero_threshold_is_sent_not_dropped() -> None:
    assert search_options(min_z=0.0, diversity=0.0) == {"diversity": 0.0, "min_z": 0.0}
