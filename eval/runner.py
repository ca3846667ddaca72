"""Runs a question set through the public API under each configuration; one record per question and config."""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Sequence

from rag.answering.answerer import Answer
from rag.api import RAG
from rag_eval.configs import RunConfig
from rag_eval.datasets import EvalQuestion
from rag_eval.question_scores import answer_scores

Progress = Callable[[Iterable[Any], str], Iterable[Any]]


def configured(base: RAG, config: RunConfig) -> RAG:
    """A RAG over the same index and embedder whose first stage is `config.retrieval_mode`."""
    settings = copy.deepcopy(base.config)
    settings.retrieval.mode = config.retrieval_mode
    return RAG(base.store, settings, base.embedder)


def run_config(
    base: RAG, questions: Sequence[EvalQuestion], config: RunConfig, progress: Progress = lambda it, desc: it
) -> list[dict[str, Any]]:
    """Ask every question with `config` (models are loaded before the first timed question)."""
    rag = configured(base, config)
    rag.warm_up()
    if (config.answer_mode or rag.config.answer.mode) == "llm":
        rag.answerer.generator  # loads the GGUF outside the timings
    records = []
    for question in progress(questions, config.name):
        answer = rag.ask(question.question, mode=config.answer_mode, rerank=config.rerank)
        records.append(make_record(question, answer, config, rag))
    return records


def make_record(question: EvalQuestion, answer: Answer, config: RunConfig, rag: RAG) -> dict[str, Any]:
    """What ``questions.jsonl`` holds for one question under one configuration."""
    passages = rag.config.answer.passages
    cited = {c.n for c in answer.citations}
    numbered = list(enumerate(answer.hits[:passages], start=1))
    return {
        "id": question.id,
        "config": config.name,
        "question": question.question,
        "answerable": question.answerable,
        "type": question.type,
        "answer": answer.text,
        "mode": answer.mode,
        "abstained": answer.abstained,
        "fallback": answer.fallback,
        "language": answer.language,
        "raw": answer.raw,
        "citations": [c.to_json() for c in answer.citations],
        "contexts": [] if answer.abstained else [hit.chunk.text for n, hit in numbered if n in cited],
        "retrieved_contexts": [hit.chunk.text for _, hit in numbered],
        "retrieved_ids": [hit.chunk.id for hit in answer.hits],
        "gold": list(question.gold_substrings),
        "reference": question.reference,
        "reference_contexts": list(question.reference_contexts),
        "scores": answer_scores(question, answer, rag.answerer.checker, passages),
        "timings": {name: round(value, 2) for name, value in answer.timings.items()},
    }
