"""The evaluation embedding cache: each text embedded once, identical vectors after a reload."""
from pathlib import Path

import numpy as np

from rag_eval.embed_cache import CachedEmbedder
from tests.conftest import KeywordEmbedder


def test_texts_are_embedded_once_and_survive_a_reload(tmp_path: Path) -> None:
    inner = KeywordEmbedder()
    cached = CachedEmbedder(inner, tmp_path)
    first = cached.embed_passages(["混合精度", "LoRA 低秩", "混合精度"])
    assert inner.embedded_texts == ["混合精度", "LoRA 低秩"]
    query = cached.embed_queries(["什么是 LoRA"])
    cached.save()

    reloaded = CachedEmbedder(KeywordEmbedder(), tmp_path)
    assert reloaded.spec == inner.spec
    np.testing.assert_array_equal(reloaded.embed_passages(["LoRA 低秩", "混合精度"]), first[[1, 0]])
    np.testing.assert_array_equal(reloaded.embed_queries(["什么是 LoRA"]), query)
    assert reloaded.inner.embedded_texts == []  # nothing recomputed
