import numpy as np

from services.encoders.cache import TextEmbeddingCache


def test_encodes_each_text_once_and_evicts_lru():
    calls: list[list[str]] = []

    def encode(texts):
        calls.append(list(texts))
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)

    cache = TextEmbeddingCache(maxsize=2)
    out = cache.get_many(["winter", "forest", "winter"], encode)
    assert calls == [["winter", "forest"]]
    assert out.shape == (3, 2) and out[0, 0] == 6 and out[2, 0] == 6
    cache.get_many(["winter"], encode)
    assert len(calls) == 1 and cache.hits >= 1
    cache.get_many(["sand"], encode)  # evicts "forest" (least recently used)
    cache.get_many(["forest"], encode)
    assert calls[-1] == ["forest"] and len(cache) == 2
