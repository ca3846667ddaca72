"""bm25s (our engine) checked against rank-bm25 (the reference implementation) on a small corpus."""
import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from rag.core.text import tokenize
from rag.index.sparse import SparseIndex

CORPUS = [
    "混合精度训练使用 FP16 和 FP32，减少显存占用。",
    "LoRA 和 QLoRA 是参数高效微调方法，QLoRA 使用 4-bit 量化。",
    "KV cache 缓存键和值，加速自回归生成。",
    "Transformer 使用自注意力机制，多头注意力并行计算。",
    "知识蒸馏把教师模型的知识迁移到学生模型。",
    "梯度检查点用计算换显存，适合训练大模型。",
]
QUERIES = ["QLoRA 显存", "kv cache", "自注意力 transformer", "知识蒸馏 学生模型", "fp16 训练"]


class LuceneIdfOkapi(BM25Okapi):
    """rank-bm25's Okapi scoring with Lucene's idf, log(1 + (N - n + 0.5) / (n + 0.5))."""

    def _calc_idf(self, nd):
        for word, freq in nd.items():
            self.idf[word] = float(np.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5)))


@pytest.mark.parametrize("query", QUERIES)
def test_robertson_scores_match_rank_bm25(query: str) -> None:
    tokens = [tokenize(text) for text in CORPUS]
    ours = SparseIndex.from_tokens(tokens, k1=1.5, b=0.75, method="robertson").scores(tokenize(query))
    # epsilon=0 keeps negative idf as is, as bm25s's robertson does. bm25s (like Lucene) drops Okapi's
    # constant (k1 + 1) factor from the numerator: same ranking, scores scaled by 1 / (k1 + 1).
    oracle = BM25Okapi(tokens, k1=1.5, b=0.75, epsilon=0).get_scores(tokenize(query))
    assert np.allclose(ours * (1.5 + 1), oracle, atol=1e-5)


@pytest.mark.parametrize("query", QUERIES)
def test_default_lucene_scores_match_rank_bm25_with_lucene_idf(query: str) -> None:
    tokens = [tokenize(text) for text in CORPUS]
    ours = SparseIndex.from_tokens(tokens, k1=1.2, b=0.75).scores(tokenize(query))
    oracle = LuceneIdfOkapi(tokens, k1=1.2, b=0.75).get_scores(tokenize(query))
    assert np.allclose(ours * (1.2 + 1), oracle, atol=1e-5)


def test_mixed_terms_match_regardless_of_case() -> None:
    index = SparseIndex.build(CORPUS)
    assert index.search("qlora", 1)[0][0] == 1
    assert index.search("KV Cache", 1)[0][0] == 2


def test_unknown_terms_and_empty_documents() -> None:
    index = SparseIndex.build(["", "只有一个文档有内容"])
    assert index.search("完全无关的词 zzz", 5) == []
    assert index.search("内容", 5)[0][0] == 1


def test_save_and_load_round_trip(tmp_path) -> None:
    index = SparseIndex.build(CORPUS)
    index.save(tmp_path / "sparse")
    loaded = SparseIndex.load(tmp_path / "sparse")
    assert len(loaded) == len(CORPUS)
    assert np.allclose(loaded.scores("LoRA 微调"), index.scores("LoRA 微调"))


def test_tokenizer_keeps_technical_terms_and_drops_stopwords() -> None:
    tokens = tokenize("什么是 LoRA？KV Cache 与 FP16 的区别")
    assert {"lora", "kv", "cache", "fp16", "区别"} <= set(tokens)
    assert "什么" not in tokens and "的" not in tokens and "？" not in tokens
