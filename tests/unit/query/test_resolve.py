"""Term resolution: templates, centring on modality means, concept expansion and its failures."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.errors import InvalidInput, PointNotFound
from services.encoders.cache import TextEmbeddingCache
from services.query.modality import Centring
from services.query.parser import parse_terms
from services.query.resolve import Resolver, fill_templates, term_modality
from tests.unit.query.fakes import HashEncoder, MemoryStore, random_points, vec


def resolver(**kw: object) -> Resolver:
    store = kw.pop("store", MemoryStore(random_points(5)))
    return Resolver(HashEncoder(), TextEmbeddingCache(64), store, "c", parse=parse_terms, **kw)  # type: ignore[arg-type]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_fill_templates() -> None:
    assert fill_templates("cat", ["a photo of {}", "{}!"]) == ["a photo of cat", "cat!"]
    assert fill_templates("cat", []) == ["cat"]


def test_templates_turn_a_text_term_into_the_ensemble_of_filled_prompts() -> None:
    r = resolver(templates=("a photo of {}", "{}"))
    row = r.resolve(parse_terms('"cat"'))[0]
    expected = unit(vec("a photo of cat") + vec("cat"))
    assert np.allclose(row, expected, atol=1e-6)


def test_explicit_ensembles_ignore_templates() -> None:
    r = resolver(templates=("a photo of {}",))
    row = r.resolve(parse_terms('"cat" | "kitten"'))[0]
    assert np.allclose(row, unit(vec("cat") + vec("kitten")), atol=1e-6)


def test_repeated_text_terms_are_encoded_once() -> None:
    r = resolver()
    r.resolve(parse_terms('"a" + axis("a", "b") - 0.5*"a"'))
    assert sorted(r.encoder.encoded) == ["a", "b"]  # type: ignore[attr-defined]


def test_centring_subtracts_the_modality_mean_and_scales_to_unit_score_spread() -> None:
    pts = random_points(300)
    x = np.stack([p.vectors["image"] for p in pts]).astype(np.float64)
    mu_t = np.full(16, 0.1, dtype=np.float32)
    mu_i = x.mean(axis=0).astype(np.float32)
    cov = np.cov(x.T, bias=True).astype(np.float32)
    r = resolver(store=MemoryStore(pts), centring=Centring({"text": mu_t, "image": mu_i}, cov))
    rows = r.resolve(parse_terms(f'"red" + image({pts[0].id})'))
    # Direction: the centred term; length: one over the spread of its scores over the searched vectors.
    assert np.allclose(unit(rows[0]), unit(vec("red") - mu_t), atol=1e-5)
    assert np.allclose(unit(rows[1]), unit(pts[0].vectors["image"] - mu_i), atol=1e-5)
    for row in rows:
        assert float(np.std(x @ row)) == pytest.approx(1.0, rel=1e-3)


def test_centring_a_term_that_scores_everything_alike_is_refused() -> None:
    cov = np.zeros((16, 16), dtype=np.float32)  # every point the same: no spread at all
    r = resolver(centring=Centring({"text": np.zeros(16, np.float32), "image": vec("x")}, cov))
    with pytest.raises(InvalidInput, match="cannot be centred"):
        r.resolve(parse_terms('"red"'))


def test_centring_needs_the_modality_mean() -> None:
    r = resolver(centring=Centring({"image": vec("x")}, np.eye(16, dtype=np.float32)))
    with pytest.raises(InvalidInput, match="mean text vector"):
        r.resolve(parse_terms('"red"'))


def test_modalities() -> None:
    [(_, text), (_, ens), (_, img), (_, up), (_, ax), (_, con)] = parse_terms(
        '"a" + ("b" | "c") + image(1) + upload(0) + axis("a", "b") + @x'
    )
    assert [term_modality(t) for t in (text, ens, img, up, ax, con)] == ["text", "text", "image", "image", None, None]


def test_concepts_expand_and_nest() -> None:
    saved = {"warm": '"red" + "orange"', "sunset": '@warm + "sky"'}
    r = resolver(concepts=saved.__getitem__)
    got = r.compose_expr(parse_terms("@sunset"))
    warm = unit(vec("red") + vec("orange"))
    assert np.allclose(got, unit(warm + vec("sky")), atol=1e-6)


def test_concept_cycles_are_named() -> None:
    saved = {"a": '@b + "x"', "b": '@a + "y"'}
    r = resolver(concepts=saved.__getitem__)
    with pytest.raises(InvalidInput, match=r"@a → @b → @a"):
        r.compose_expr(parse_terms("@a"))


def test_concept_depth_is_bounded() -> None:
    saved = {f"c{i}": f'@c{i + 1} + "t{i}"' for i in range(20)}
    r = resolver(concepts=saved.__getitem__)
    with pytest.raises(InvalidInput, match="nest more than"):
        r.compose_expr(parse_terms("@c0"))


def test_without_concepts_a_concept_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="no saved concepts"):
        resolver().resolve(parse_terms("@nope"))


def test_upload_index_out_of_range() -> None:
    r = resolver(upload_vectors=np.stack([vec("img")]))
    assert np.allclose(r.resolve(parse_terms("upload(0)"))[0], vec("img"))
    with pytest.raises(InvalidInput, match=r"upload\(1\).*1 image"):
        r.resolve(parse_terms("upload(1)"))


def test_missing_point_names_the_collection_label() -> None:
    r = resolver(label="shapes")
    with pytest.raises(PointNotFound, match="'shapes'"):
        r.resolve(parse_terms("image(00000000-0000-0000-0000-999999999999)"))
