import numpy as np
from PIL import Image

from services.encoders.transforms import PreprocessConfig, center_crop, preprocess, resize_shortest, to_rgb


def test_resize_keeps_aspect_and_crop_is_central():
    img = Image.new("RGB", (200, 100))
    r = resize_shortest(img, 50, int(Image.Resampling.BICUBIC))
    assert r.size == (100, 50)
    c = center_crop(r, 50)
    assert c.size == (50, 50)


def test_transparency_composited_over_white():
    img = Image.new("RGBA", (2, 2), (255, 0, 0, 0))
    assert to_rgb(img).getpixel((0, 0)) == (255, 255, 255)


def test_preprocess_shape_and_normalisation():
    cfg = PreprocessConfig(resize=8, crop=8, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    out = preprocess(Image.new("RGB", (16, 12), (255, 0, 0)), cfg)
    assert out.shape == (3, 8, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], 1.0)
    np.testing.assert_allclose(out[1], -1.0)


def test_config_from_hf_dict():
    cfg = PreprocessConfig.from_dict(
        {"crop_size": {"height": 64, "width": 64}, "size": {"shortest_edge": 64}, "image_mean": [0, 0, 0]}
    )
    assert (cfg.resize, cfg.crop, cfg.mean) == (64, 64, (0, 0, 0))


def test_4_3_images_match_clip_image_processor_exactly():
    """transformers truncates the long side (640×480 → 298×224); rounding to 299 shifted every pixel."""
    import numpy as np
    from transformers import CLIPImageProcessor

    rng = np.random.default_rng(3)
    for w, h in [(640, 480), (480, 640), (1024, 768), (333, 250)]:
        img = Image.fromarray(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8)).resize((w, h))
        want = CLIPImageProcessor()(images=img, return_tensors="np")["pixel_values"][0]
        got = preprocess(img, PreprocessConfig())
        assert np.abs(got - want).max() < 1e-4, (w, h)


def test_siglip_config_squashes_at_its_own_size():
    from transformers import SiglipImageProcessor

    cfg = PreprocessConfig.from_processor(SiglipImageProcessor(size={"height": 256, "width": 256}))
    assert (cfg.mode, cfg.resize, cfg.crop, cfg.mean) == ("squash", 256, 256, (0.5, 0.5, 0.5))
    img = Image.new("RGB", (400, 100), (255, 0, 0))
    assert preprocess(img, cfg).shape == (3, 256, 256)
