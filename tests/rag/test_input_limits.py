"""Question length and k limits: a huge question is refused (or cut) fast; k outside 1..max is refused."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import InputLimitError
from rag.index.local import IndexStore
from rag_ingest.builder import IndexBuilder


@pytest.fixture
def rag_for(tiny_corpus: Path, tmp_path: Path, keyword_embedder):
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)

    def make(**limits) -> RAG:
        config = Config()
        config.answer.mode = "extractive"
        for key, value in limits.items():
            setattr(config.limits, key, value)
        rag = RAG(IndexStore.open(tmp_path / "index"), config, keyword_embedder)
        rag.warm_up()
        return rag

    return make


def test_a_100_kb_question_is_refused_fast(rag_for) -> None:
    rag = rag_for()
    question = "混合精度训练有什么好处？" * 9000  # ~100 KB
    assert len(question.encode("utf-8")) > 100_000
    for call in (rag.retrieve, rag.ask):
        started = time.perf_counter()
        with pytest.raises(InputLimitError, match=r"limits\.max_question_chars = 1,000"):
            call(question)
        assert time.perf_counter() - started < 2


def test_a_100_kb_question_is_cut_fast_when_configured(rag_for) -> None:
    rag = rag_for(question_overflow="truncate")
    question = "LoRA 是什么？" + "填充" * 50_000
    started = time.perf_counter()
    answer = rag.ask(question)
    assert time.perf_counter() - started < 2
    assert len(answer.question) <= 1000


def test_too_many_words_are_refused(rag_for) -> None:
    rag = rag_for(max_question_tokens=10)
    with pytest.raises(InputLimitError, match="max_question_tokens = 10"):
        rag.retrieve("LoRA attention cache precision training model data token layer head vector")


@pytest.mark.parametrize("k", [0, -5, 101, 2.5, True])
def test_k_out_of_range_is_refused(rag_for, k) -> None:
    with pytest.raises(InputLimitError, match=r"from 1 to 100"):
        rag_for().retrieve("LoRA", k=k)


def test_k_in_range_is_honoured(rag_for) -> None:
    assert len(rag_for().retrieve("注意力", k=2)) == 2
