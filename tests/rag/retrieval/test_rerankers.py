from pathlib import Path

import numpy as np
import pytest

from rag.core.config import Config
from rag.core.errors import ConfigError, ModelLoadError
from rag.core.schema import Chunk, Hit
from rag.index.local import IndexStore
from rag.retrieval.evidence import EvidenceScorer
from rag.retrieval.rerankers import (
    CrossEncoderReranker,
    EvidenceReranker,
    GeneratorReranker,
    Reranker,
    make_reranker,
)
from rag.retrieval.retriever import Retriever
from rag_ingest.builder import IndexBuilder

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"混合精度训练注意力模型数据缓存", "lora", "kv", "cache"]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    """A randomly initialised 1-layer BERT with a 1-logit head, saved as a CrossEncoder (no download)."""
    from sentence_transformers import CrossEncoder
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        BertTokenizerFast,
    )

    folder = tmp_path_factory.mktemp("tiny-ce")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder / "raw")
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder / "raw")
    CrossEncoder(str(folder / "raw"), device="cpu").save(str(folder / "model"))
    return folder / "model"


def _hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(f"c{i}", "d.md", t, 0, len(t), ("标题",)), 1.0 - i / 10, {"rrf": 1.0 - i / 10}) for i, t in enumerate(texts)]


def test_cross_encoder_loads_scores_and_reorders(tiny_cross_encoder: Path) -> None:
    reranker = make_reranker(f"cross-encoder:{tiny_cross_encoder}", scorer=None, config=Config().rerank)  # type: ignore[arg-type]
    assert isinstance(reranker, CrossEncoderReranker) and isinstance(reranker, Reranker)
    reranker.batch_size = 2  # five hits -> three batches
    hits = _hits("混合精度训练", "注意力模型", "kv cache 缓存", "lora", "数据")
    ranked = reranker.rerank("什么是混合精度", hits)
    scores = [h.scores["rerank"] for h in ranked]
    assert sorted(scores, reverse=True) == scores
    assert all(0.0 < s < 1.0 for s in scores)
    assert {h.chunk.id for h in ranked} == {h.chunk.id for h in hits}
    assert all(h.score == h.scores["rerank"] and "rrf" in h.scores for h in ranked)
    assert all("relevance" not in h.scores for h in ranked)  # relevance is the refusal model's, added by RAG
    # Same pairs, one at a time: batching does not change the scores.
    single = {h.chunk.id: h.score for hit in hits for h in reranker.rerank("什么是混合精度", [hit])}
    assert all(np.isclose(single[h.chunk.id], h.score, atol=1e-5) for h in ranked)
    assert reranker.rerank("q", []) == []


def test_cross_encoder_truncates_long_passages(tiny_cross_encoder: Path) -> None:
    reranker = CrossEncoderReranker(str(tiny_cross_encoder), max_length=16)
    long_text = "混合精度训练" * 200  # far past both max_length and the model's 64 positions
    (hit,) = reranker.rerank("混合精度", _hits(long_text))
    assert 0.0 < hit.score < 1.0


def test_missing_cross_encoder_says_which_model_where_and_how(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match=r"'.*no-such-model' from the local folder .*check the path"):
        CrossEncoderReranker(str(tmp_path / "no-such-model")).warm_up()
    with pytest.raises(ModelLoadError, match=r"'example-org/missing-reranker' from the Hugging Face cache.*rag models pull"):
        CrossEncoderReranker("example-org/missing-reranker").warm_up()


def test_unknown_reranker_spec() -> None:
    with pytest.raises(ConfigError, match="Unknown reranker 'bm25-again'"):
        make_reranker("bm25-again", scorer=None)  # type: ignore[arg-type]


@pytest.fixture
def scorer(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> EvidenceScorer:
    (tiny_corpus / "questions.md").write_text("# 列表\n\n★★★★★ **1. 什么是 KV cache？**\n", encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    retriever = Retriever(IndexStore.open(tmp_path / "index"), keyword_embedder)
    return EvidenceScorer(retriever.store, retriever.query_vector)


def test_evidence_reranker_scores_every_hit(scorer: EvidenceScorer) -> None:
    store = scorer.store
    hits = [Hit(c, 0.0) for c in store.chunks if not c.meta["question_only"]]
    ranked = EvidenceReranker(scorer).rerank("KV cache 加速生成", hits)
    assert "KV cache" in ranked[0].chunk.text
    assert all("rerank" in h.scores and "relevance" not in h.scores for h in ranked)  # relevance is the refusal stage's
    kept = make_reranker("none", scorer).rerank("KV cache 加速生成", hits)
    assert [h.chunk.id for h in kept] == [h.chunk.id for h in hits] and "rerank" not in kept[0].scores


def test_evidence_features(scorer: EvidenceScorer) -> None:
    store = scorer.store
    kv = next(c for c in store.chunks if "KV cache" in c.text and not c.meta["question_only"])
    (evidence,) = scorer.hits("KV cache 加速", [Hit(kv, 0.0)])
    start, end = evidence.sentence_span
    assert "KV cache" in store.documents[kv.doc_id][start:end]
    # "kv", "cache" and "加速" all occur in the passage: full coverage.
    assert evidence.coverage == pytest.approx(1.0)
    question = scorer.question("KV cache 是什么")
    assert question.bare_question > -1.0  # the corpus has one bare question
    assert scorer.question("完全陌生的词汇 zzz").unseen == 1.0


class KeywordJudge:
    """Stands in for the LLM judge: "yes" odds 0.9 for a prompt whose passage holds `keyword`, else 0.2."""

    spec = "test:judge"
    chat_template = None

    def __init__(self, keyword: str) -> None:
        self.keyword = keyword
        self.prompts: list[str] = []

    def warm_up(self) -> None:
        pass

    def yes_probability(self, prompt: str, yes, no) -> float:
        self.prompts.append(prompt)
        passage = prompt.split("资料 Passage：", 1)[1]
        return 0.9 if self.keyword in passage else 0.2


def test_llm_reranker_reorders_the_top_n_by_the_judges_odds(scorer: EvidenceScorer) -> None:
    hits = [Hit(c, 0.0) for c in scorer.store.chunks if not c.meta["question_only"]]
    base = EvidenceReranker(scorer).rerank("KV cache 加速生成", hits)
    judge = KeywordJudge(base[1].chunk.text[:8])  # the judge prefers the base's second passage
    reranker = make_reranker("llm:2", scorer, generator_factory=lambda: judge)
    assert isinstance(reranker, GeneratorReranker) and isinstance(reranker, Reranker) and reranker.top_n == 2
    ranked = reranker.rerank("KV cache 加速生成", hits)
    assert len(judge.prompts) == 2 and all("KV cache 加速生成" in p for p in judge.prompts)
    assert [h.chunk.id for h in ranked[:2]] == [base[1].chunk.id, base[0].chunk.id]
    assert [h.scores["rerank"] for h in ranked[:2]] == [0.9, 0.2]
    assert [h.chunk.id for h in ranked[2:]] == [h.chunk.id for h in base[2:]]  # the rest as the base ordered them


def test_llm_reranker_needs_token_odds(scorer: EvidenceScorer) -> None:
    from tests.conftest import ScriptedGenerator

    reranker = make_reranker("llm", scorer, generator_factory=lambda: ScriptedGenerator("是"))
    assert reranker.top_n == 5
    with pytest.raises(ConfigError, match="needs a llama.cpp generator.*test:scripted"):
        reranker.warm_up()
    with pytest.raises(ConfigError, match="Unknown reranker 'llm'"):
        make_reranker("llm", scorer)  # no generator to judge with
