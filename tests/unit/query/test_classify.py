"""Zero-shot classification math, label parsing, and the collection-wide classify job."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.core.types import PointRecord
from services.jobs.records import ItemError
from services.query.classify import (
    ClassifyJob,
    Label,
    check_label_set,
    classifications,
    label_vectors,
    parse_label,
    parse_labels,
    run_classify_job,
    zero_shot,
)
from services.query.compose import softmax_probs
from tests.unit.query.fakes import HashEncoder, MemoryStore, vec


def test_label_forms() -> None:
    assert parse_label("red", 0) == Label("red", ("red",))
    both = Label("a red shape | a red thing", ("a red shape", "a red thing"))
    assert parse_label("a red shape | a red thing", 0) == both
    assert parse_label({"label": "red", "prompts": ["red", "crimson"]}, 0) == Label("red", ("red", "crimson"))
    assert parse_label({"label": "red"}, 0) == Label("red", ("red",))


@pytest.mark.parametrize(
    ("items", "match"),
    [
        (["red"], "at least 2"),
        (["red", "red"], "twice"),
        (["red", " "], "empty"),
        (["red", "a||b"], "empty"),
        (["red", {"label": "x", "prompts": "y"}], "list of strings"),
        (["red", "x" * 400], "characters"),
        ([f"l{i}" for i in range(5)], "at most 4"),
    ],
)
def test_bad_labels(items: list[Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_labels(items, max_labels=4)


def test_label_vectors_are_ensembles_over_prompts_and_templates() -> None:
    enc = HashEncoder()
    labels = [Label("red", ("red", "crimson")), Label("blue", ("blue",))]
    v = label_vectors(labels, ["a {} thing", "{}"], enc.encode_texts)
    expected = vec("a red thing") + vec("red") + vec("a crimson thing") + vec("crimson")
    assert np.allclose(v[0], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)
    assert len(enc.encoded) == 6  # one batch of every prompt


def test_zero_shot_uses_the_logit_scale() -> None:
    labels = np.stack([vec("a"), vec("b"), vec("c")])
    images = np.stack([vec("a"), 0.6 * vec("b") + 0.4 * vec("c")])
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    sims, probs = zero_shot(images, labels, 100.0)
    assert np.allclose(sims, images @ labels.T, atol=1e-6)
    assert np.allclose(probs, softmax_probs(sims, 100.0))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    out = classifications(["a", "b", "c"], sims, probs)
    assert [c.top_label for c in out] == ["a", "b"]
    assert out[0].probabilities["a"] > 0.99
    # A cooler temperature spreads the probabilities.
    _, soft = zero_shot(images, labels, 1.0)
    assert soft[0].max() < probs[0].max()


def test_label_set_names() -> None:
    assert check_label_set("color_2") == "color_2"
    for bad in ("", "a.b", "x" * 33, "sp ace"):
        with pytest.raises(InvalidInput):
            check_label_set(bad)


class FakeJobs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.cancel_after: int | None = None
        self.progressed = 0

    def state(self, job_id: str) -> str:
        return "cancelled" if self.cancel_after is not None and self.progressed >= self.cancel_after else "running"

    def start(self, job_id: str) -> None:
        self.calls.append(("start", None))

    def set_total(self, job_id: str, n: int) -> None:
        self.calls.append(("total", n))

    def progress(self, job_id: str, done: int = 0, errors: list[ItemError] | None = None) -> None:
        self.progressed += 1
        self.calls.append(("progress", (done, [e.item for e in errors or []])))

    def finish(self, job_id: str, state: str, message: str | None = None, timings: Any = None) -> None:
        self.calls.append(("finish", (state, message)))


def test_classify_job_writes_top_label_and_probability() -> None:
    names = ("red", "blue")
    lab = np.stack([vec("red"), vec("blue")])
    pts = [PointRecord(f"p{i}", {"image": lab[i % 2]}, {}) for i in range(6)]
    pts.append(PointRecord("no-image", {"text": vec("red")}, {}))
    store, jobs = MemoryStore(pts), FakeJobs()
    run_classify_job(ClassifyJob("j", store, jobs, "c", "color", names, lab, 100.0))  # type: ignore[arg-type]
    for i in range(6):
        p = store.points[f"p{i}"].payload
        assert p["label_color"] == names[i % 2] and p["label_color_p"] > 0.9
    assert "label_color" not in store.points["no-image"].payload
    assert ("total", 7) in jobs.calls
    assert ("progress", (6, ["no-image"])) in jobs.calls  # the point without the vector is a failed item
    assert jobs.calls[-1] == ("finish", ("done", None))


def test_classify_job_failure_is_recorded() -> None:
    class Broken(MemoryStore):
        def set_payload(self, name: str, point_id: str, payload: dict[str, object]) -> None:
            raise InvalidInput("store says no")

    jobs = FakeJobs()
    store = Broken([PointRecord("p", {"image": vec("x")}, {})])
    run_classify_job(ClassifyJob("j", store, jobs, "c", "s", ("x", "y"), np.stack([vec("x"), vec("y")]), 100.0))  # type: ignore[arg-type]
    assert jobs.calls[-1] == ("finish", ("failed", "store says no"))
