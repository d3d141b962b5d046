"""Term resolution: each term of a parsed expression becomes a vector.

Text terms go through the text encoder (with the LRU cache), point terms read a stored point's
named vector, upload terms use images sent with the request, axis terms compose their two poles,
concept terms expand the saved expression they name.

Two options change what a term resolves to:

- ``templates`` (a collection's prompt templates, e.g. ``"a photo of {}"``): a plain text term
  ``"cat"`` becomes the ensemble of the templates filled with it. Explicit ensembles (``"a" | "b"``)
  are taken literally.
- ``centring`` (against the modality gap, see ``services.query.modality``): each leaf term ``t`` of
  modality ``m`` (text for text terms, ensembles and ``text(id)``; image for ``image(id)`` and uploads)
  becomes ``(t − μ_m) / σ``, ``μ_m`` the collection's mean of that modality and ``σ`` the standard
  deviation of its scores over the searched vectors. Axis and concept terms are built from such leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from services.core.errors import InvalidInput, PointNotFound
from services.core.types import Vector
from services.encoders.base import Encoder
from services.encoders.cache import TextEmbeddingCache
from services.query.ast import (
    AxisTerm,
    ConceptTerm,
    Ensemble,
    PointTerm,
    Term,
    TextTerm,
    UploadTerm,
    WeightedTerm,
    linearize,
    to_text,
)
from services.query.compose import CANCEL_TOLERANCE, compose, ensemble
from services.query.modality import Centring
from services.vectorstore.base import VectorStore

ConceptLookup = Callable[[str], str]
"""Saved concept name → its expression text (raises ``ConceptNotFound`` when unknown)."""

# Concepts may use concepts; a chain this long is a mistake (and keeps recursion bounded).
MAX_CONCEPT_DEPTH = 8


def _no_concepts(name: str) -> str:
    raise InvalidInput(f"unknown concept '@{name}': this collection has no saved concepts")


def term_modality(term: Term) -> str | None:
    """``"text"`` or ``"image"`` for a leaf term; ``None`` for composite terms (axes, concepts)."""
    if isinstance(term, TextTerm | Ensemble):
        return "text"
    if isinstance(term, PointTerm):
        return term.kind
    if isinstance(term, UploadTerm):
        return "image"
    return None


def fill_templates(text: str, templates: Sequence[str]) -> list[str]:
    """The prompts for ``text`` under ``templates`` (each holds one ``{}``); ``[text]`` without templates."""
    return [t.replace("{}", text) for t in templates] if templates else [text]


@dataclass
class Resolver:
    """Turns terms into vectors for one collection. Point vectors are fetched in one store call.

    ``collection``: the store's name of the collection; ``label``: the name users know (for messages).
    """

    encoder: Encoder
    cache: TextEmbeddingCache
    store: VectorStore
    collection: str
    upload_vectors: Vector | None = None
    concepts: ConceptLookup = _no_concepts
    parse: Callable[[str], list[WeightedTerm]] | None = None
    templates: tuple[str, ...] = ()
    centring: Centring | None = None
    label: str = ""
    _chain: tuple[str, ...] = field(default=(), repr=False)

    def expanding(self, concept: str) -> Resolver:
        """This resolver inside the expansion of ``@concept``: any path back to it is refused as a cycle.

        Saving a concept resolves its expression this way, so ``@a → @b → @a`` cannot be saved."""
        return replace(self, _chain=(*self._chain, concept))

    def texts(self, texts: Sequence[str]) -> Vector:
        return self.cache.get_many(list(texts), self.encoder.encode_texts)

    def text_vectors(self, texts: Sequence[str]) -> Vector:
        """(n, d): one unit vector per text, each the ensemble of its templated prompts (if any)."""
        if not self.templates:
            return self.texts(texts)
        k = len(self.templates)
        prompts = [p for t in texts for p in fill_templates(t, self.templates)]
        vecs = self.texts(prompts)
        return np.stack([ensemble(vecs[i * k : (i + 1) * k]) for i in range(len(texts))]).astype(np.float32)

    def resolve(self, terms: Sequence[WeightedTerm]) -> Vector:
        """(k, d) matrix, one row per term, in order. Text, point and upload rows are unit vectors."""
        text_terms = list(dict.fromkeys(t.term.text for t in terms if isinstance(t.term, TextTerm)))
        text_vecs = dict(zip(text_terms, self.text_vectors(text_terms), strict=True)) if text_terms else {}
        point_vecs = self._points([t.term for t in terms if isinstance(t.term, PointTerm)])
        rows: list[Vector] = []
        for _, term in terms:
            if isinstance(term, TextTerm):
                row = text_vecs[term.text]
            elif isinstance(term, PointTerm):
                row = point_vecs[(term.kind, term.point_id)]
            else:
                row = self._other(term)
            rows.append(self._centre(term, row))
        return np.stack(rows).astype(np.float32)

    def _centre(self, term: Term, row: Vector) -> Vector:
        """``(t − μ_m) / σ``: centred on its modality, scaled to unit score spread over the searched vectors."""
        modality = term_modality(term)
        if self.centring is None or modality is None:
            return row
        mean = self.centring.means.get(modality)
        if mean is None:
            raise InvalidInput(f"centring needs the collection's mean {modality} vector, and it has none")
        diff = row.astype(np.float64) - mean
        spread = float(np.sqrt(max(0.0, float(diff @ self.centring.cov.astype(np.float64) @ diff))))
        if not (float(np.linalg.norm(diff)) > CANCEL_TOLERANCE and spread > CANCEL_TOLERANCE):
            raise InvalidInput(
                f"{to_text([WeightedTerm(1.0, term)])} scores every point of the collection alike once centred "
                f"on the mean {modality} vector: it cannot be centred"
            )
        return (diff / spread).astype(np.float32)

    def _other(self, term: Term) -> Vector:
        if isinstance(term, Ensemble):
            return ensemble(self.texts(term.texts))
        if isinstance(term, UploadTerm):
            n = 0 if self.upload_vectors is None else len(self.upload_vectors)
            if self.upload_vectors is None or term.index >= n:
                raise InvalidInput(
                    f"upload({term.index}) refers to an uploaded image, but {n} image(s) came with the request"
                )
            out: Vector = self.upload_vectors[term.index]
            return out
        if isinstance(term, AxisTerm):
            a = self.compose_expr(linearize(term.a))
            b = self.compose_expr(linearize(term.b))
            return (a - b).astype(np.float32)
        if isinstance(term, ConceptTerm):
            return self._concept(term.name)
        raise InvalidInput(f"unsupported term {to_text([WeightedTerm(1.0, term)])}")

    def _concept(self, name: str) -> Vector:
        if name in self._chain:
            path = " → ".join(f"@{n}" for n in (*self._chain, name))
            raise InvalidInput(f"concept '@{name}' refers to itself ({path})")
        if len(self._chain) >= MAX_CONCEPT_DEPTH or self.parse is None:
            raise InvalidInput(
                f"concept '@{name}' cannot be expanded: concepts nest more than {MAX_CONCEPT_DEPTH} deep"
            )
        return self.expanding(name).compose_expr(self.parse(self.concepts(name)))

    def compose_expr(self, terms: Sequence[WeightedTerm]) -> Vector:
        """The unit vector of a (sub-)expression."""
        return compose([t.weight for t in terms], self.resolve(terms)).vector

    def _points(self, terms: Sequence[PointTerm]) -> dict[tuple[str, str], Vector]:
        if not terms:
            return {}
        ids = list(dict.fromkeys(t.point_id for t in terms))
        records = {r.id: r for r in self.store.retrieve(self.collection, ids, with_vectors=True)}
        out: dict[tuple[str, str], Vector] = {}
        for t in terms:
            rec = records.get(t.point_id)
            if rec is None:
                raise PointNotFound(t.point_id, self.label or self.collection)
            vec = rec.vectors.get(t.kind)
            if vec is None:
                raise InvalidInput(
                    f"point {t.point_id!r} has no {t.kind} vector"
                    + (" (it was ingested without alt-text)" if t.kind == "text" else "")
                )
            out[(t.kind, t.point_id)] = vec
        return out
