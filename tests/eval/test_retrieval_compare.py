"""`rag eval retrieval`'s table: the project's stages and the plain baseline on one question set."""
from pathlib import Path

import pytest

from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import ConfigError
from rag.index.local import IndexStore
from rag_eval.baseline import BASELINE_NAME
from rag_eval.datasets import EvalQuestion
from rag_eval.retrieval_compare import EXCERPT_ROW, COLUMNS, compare, comparison_table
from rag_ingest.builder import IndexBuilder
from tests.conftest import KeywordEmbedder

QUESTIONS = [
    EvalQuestion("a", "LoRA 低秩矩阵", gold_substrings=("低秩矩阵",)),
    EvalQuestion("b", "KV cache 缓存", gold_substrings=("KV cache",)),
    EvalQuestion("c", "多头注意力 子空间", gold_substrings=("子空间",)),
    EvalQuestion("d", "红烧肉 做法 酱油", answerable=False),
]


def test_one_row_per_stage_and_the_baseline(tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the baseline caches its build there
    embedder = KeywordEmbedder()
    config = Config.load(env={})
    IndexBuilder(config, embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    rag = RAG(IndexStore.open(tmp_path / "index"), config, embedder)
    rows = compare(rag, QUESTIONS, tune=QUESTIONS)
    assert list(rows) == ["dense", "sparse", "hybrid", "hybrid + sentence-maxsim (default)", EXCERPT_ROW, BASELINE_NAME]
    excerpts = rows.pop(EXCERPT_ROW)  # the chunk-size-neutral columns of what the model reads, nothing else
    assert set(excerpts) == {"gold@400chars", "gold@800chars", "gold@1600chars"} and excerpts["gold@1600chars"] == 1.0
    for metrics in rows.values():
        assert set(COLUMNS) <= set(metrics)
        assert (metrics["answerable"], metrics["unanswerable"]) == (3, 1)
        assert metrics["recall@10"] == 1.0  # three passages, each easy to find in a two-document corpus
    table = comparison_table(rows)
    assert table.count("\n") == 1 + len(rows)
    assert f"| {BASELINE_NAME} |" in table and "/1 |" in table
    assert f"| {EXCERPT_ROW} | – |" in comparison_table({EXCERPT_ROW: excerpts})


class CountingJudge:
    """An LLM stand-in with token odds: "yes" for every passage, counting the passages it judged."""

    spec = "test:judge"
    chat_template = None
    judged = 0

    def warm_up(self) -> None:
        pass

    def yes_probability(self, prompt: str, yes, no) -> float:
        self.judged += 1
        return 0.5


def test_more_second_stages_are_rows_of_their_own(tiny_corpus: Path, tmp_path: Path) -> None:
    embedder = KeywordEmbedder()
    config = Config.load(env={})
    IndexBuilder(config, embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    judge = CountingJudge()
    rag = RAG(IndexStore.open(tmp_path / "index"), config, embedder, generator=judge)
    rows = compare(rag, QUESTIONS, baseline=False, rerankers=["llm:2"])
    assert list(rows)[-1] == "hybrid + llm:2" and rag.reranker.spec == "sentence-maxsim"  # the default is untouched
    default, judged = rows["hybrid + sentence-maxsim (default)"], rows["hybrid + llm:2"]
    assert judge.judged == 2 * (len(QUESTIONS) + 1)  # two passages per question, and one warm-up question
    # Equal odds keep the default's order, so the metrics match it.
    assert all(judged[c] == pytest.approx(default[c]) for c in COLUMNS)
    assert judged["unanswerable_refused"] == default["unanswerable_refused"]
    with pytest.raises(ConfigError, match=r"'rerank.reranker' \(from --rerankers\) has invalid value 'llm:x'"):
        compare(rag, QUESTIONS, baseline=False, rerankers=["llm:x"])
