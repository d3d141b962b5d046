"""Zero-shot classification: images × labels → cosine similarities, probabilities, top label.

Probabilities follow the model family's own formula (``services.core.scoring``): CLIP's
softmax(logit_scale × similarities) over the labels, SigLIP's per-label sigmoid(logit_scale ×
similarity + logit_bias) (independent probabilities), or none at all for a model without a logit scale,
whose labels are ranked by cosine. A label is a text, an ensemble written ``"a dog|a photo of a dog"``, or a name with
explicit prompts; templates (``"a photo of a {}"``) multiply the prompts, and each label's vector is
the normalised mean of its prompts' unit vectors (the CLIP paper's prompt ensembling).

A label set can also be applied to a whole collection as a job that writes each point's top label
to its payload (``label_<set>``, with its probability in ``label_<set>_p``), so searches can filter
on it: the job kind ``classify`` (services/jobs/runners/classify.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.core.errors import InvalidInput
from services.core.scoring import Scoring
from services.core.types import Vector
from services.query.compose import ensemble
from services.query.resolve import fill_templates

LABEL_SET_RE = re.compile(r"[A-Za-z0-9_]{1,32}")
MAX_LABEL_CHARS = 300

TextEncoder = Callable[[Sequence[str]], Vector]
"""Texts → (n, d) unit vectors (the cached text encoder)."""


@dataclass(frozen=True)
class Label:
    """A class: its ``name`` (the key in results) and the prompts whose mean vector stands for it."""

    name: str
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    top_label: str
    probabilities: dict[str, float] | None
    similarities: dict[str, float]


def parse_label(item: str | dict[str, Any], i: int) -> Label:
    """``"red"``, ``"a red shape|a red thing"`` (an ensemble; the whole string is the name), or
    ``{"label": "red", "prompts": ["red", "a red shape"]}``."""
    if isinstance(item, str):
        prompts = tuple(p.strip() for p in item.split("|"))
        name = item.strip()
    else:
        name = str(item.get("label", "")).strip()
        raw = item.get("prompts") or [name]
        if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
            raise InvalidInput(f"labels[{i}].prompts must be a list of strings")
        prompts = tuple(p.strip() for p in raw)
    if not name or not all(prompts):
        raise InvalidInput(f"labels[{i}] has an empty label or prompt")
    if len(name) > MAX_LABEL_CHARS or any(len(p) > MAX_LABEL_CHARS for p in prompts):
        raise InvalidInput(f"labels[{i}] is over {MAX_LABEL_CHARS} characters")
    return Label(name, prompts)


def parse_labels(items: Sequence[str | dict[str, Any]], max_labels: int, min_labels: int = 2) -> list[Label]:
    """Validated labels: ``min_labels``..``max_labels``, distinct names."""
    if len(items) < min_labels:
        raise InvalidInput(
            f"classification needs at least {min_labels} labels to choose between, got {len(items)}"
            if min_labels > 1
            else "give at least one label"
        )
    if len(items) > max_labels:
        raise InvalidInput(f"at most {max_labels} labels per request, got {len(items)}")
    labels = [parse_label(item, i) for i, item in enumerate(items)]
    names = [lab.name for lab in labels]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InvalidInput(f"label {dup!r} is given twice")
    return labels


def label_vectors(labels: Sequence[Label], templates: Sequence[str], encode: TextEncoder) -> Vector:
    """(k, d): each label's ensemble of prompts × templates, unit norm."""
    per_label = [[p for prompt in lab.prompts for p in fill_templates(prompt, templates)] for lab in labels]
    flat = [p for prompts in per_label for p in prompts]
    vecs = encode(flat)
    out, start = [], 0
    for prompts in per_label:
        out.append(ensemble(vecs[start : start + len(prompts)]))
        start += len(prompts)
    return np.stack(out).astype(np.float32)


def zero_shot(images: Vector, labels: Vector, scoring: Scoring) -> tuple[Vector, Vector | None]:
    """(similarities, probabilities), both (n, k): cosines in [-1, 1], and the family's probabilities
    (softmax rows summing to 1, independent sigmoids, or None for cosine ranking)."""
    sims = (np.asarray(images, dtype=np.float64) @ np.asarray(labels, dtype=np.float64).T).astype(np.float32)
    return sims, scoring.probabilities(sims)


def top_labels(sims: Vector, probs: Vector | None) -> tuple[npt.NDArray[np.intp], Vector]:
    """Each row's best label and its score: the highest probability, or the highest cosine without them."""
    scores = sims if probs is None else probs
    top = np.argmax(scores, axis=1)
    return top, scores[np.arange(len(scores)), top]


def classifications(names: Sequence[str], sims: Vector, probs: Vector | None) -> list[Classification]:
    top, _ = top_labels(sims, probs)
    return [
        Classification(
            top_label=names[int(t)],
            probabilities=None if probs is None else {n: float(v) for n, v in zip(names, probs[i], strict=True)},
            similarities={n: float(v) for n, v in zip(names, s, strict=True)},
        )
        for i, (s, t) in enumerate(zip(sims, top, strict=True))
    ]


def check_label_set(name: str) -> str:
    if not LABEL_SET_RE.fullmatch(name):
        raise InvalidInput(f"invalid label set name {name!r}: use 1-32 ASCII letters, digits or '_'")
    return name


def payload_keys(label_set: str) -> tuple[str, str]:
    """The payload fields a classify job writes: the top label and its probability."""
    return f"label_{label_set}", f"label_{label_set}_p"
