"""Family recognition and the layouts refused before any loading (services/encoders/families.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from services.core.errors import ModelLoadError
from services.encoders.families import check_model_id, family_of, is_openclip_layout, text_context


class GemmaTokenizer:  # stands in by class name only: family_of reads the tokenizer's class
    pass


class SiglipTokenizer:
    pass


def test_families_by_model_type_and_tokenizer() -> None:
    assert family_of("clip", object()).name == "clip"
    assert family_of("clip", object()).padding == "longest" and not family_of("clip", object()).sigmoid
    siglip = family_of("siglip", SiglipTokenizer())
    assert (siglip.name, siglip.padding, siglip.sigmoid) == ("siglip", "max_length", True)
    assert family_of("siglip", GemmaTokenizer()).name == "siglip2"
    assert family_of("shapes_clip", object()).name == "shapes-clip"
    assert family_of("align", object()).name == "align"
    with pytest.raises(ValueError, match="NaFlex"):
        family_of("siglip2", GemmaTokenizer())


def test_text_context_from_the_text_tower_else_the_tokenizer() -> None:
    config = SimpleNamespace(text_config=SimpleNamespace(max_position_embeddings=64))
    assert text_context(config, SimpleNamespace(model_max_length=10**30)) == 64
    assert text_context(SimpleNamespace(), SimpleNamespace(model_max_length=128)) == 128
    assert text_context(SimpleNamespace(), SimpleNamespace(model_max_length=10**30)) == 77


def test_openclip_layout_is_refused_before_loading(tmp_path: Path) -> None:
    (tmp_path / "open_clip_config.json").write_text("{}")
    assert is_openclip_layout(tmp_path)
    with pytest.raises(ModelLoadError, match="Hugging Face format"):
        check_model_id(str(tmp_path), tmp_path)
    with pytest.raises(ModelLoadError, match="OpenCLIP"):
        check_model_id("hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K", Path("hf-hub:laion/x"))
    # A repository that carries both layouts loads its HF one.
    (tmp_path / "config.json").write_text("{}")
    assert not is_openclip_layout(tmp_path)
    check_model_id(str(tmp_path), tmp_path)
