"""`rag eval retrieval`: this project's retrieval stages and the plain baseline, side by side.

One row per stage (dense, sparse, hybrid, hybrid + the configured second stage = the default) plus the
plain baseline of issue 10 (`rag_eval.baseline`): recall@1/5/10, MRR@10, nDCG@10 over the answerable
questions, and the refusal decision on every question (unanswerable refused, answerable wrongly
refused). The baseline's refusal threshold is fitted on the tuning part, never on the set reported.
"""
from __future__ import annotations

import time
from typing import Mapping, Sequence

from rag.api import RAG
from rag.core.paths import default_index_dir
from rag_eval.baseline import (
    BASELINE_NAME,
    BaselineIndex,
    BaselineRetriever,
    fit_min_score,
)
from rag_eval.datasets import TUNE_SET, EvalQuestion, load_questions
from rag_eval.embed_cache import CachedEmbedder, default_cache_dir
from rag_eval.retrieval import CHAR_BUDGETS, RetrievalEvaluator, abstention_counts, excerpts_hold_gold

COLUMNS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "gold@400chars", "gold@800chars", "gold@1600chars")
DEPTH = 10


def project_rows(rag: RAG, questions: Sequence[EvalQuestion]) -> dict[str, dict[str, float]]:
    """Metrics of each first stage alone and of the configured pipeline (its last row)."""
    rows = [("dense", "dense", False), ("sparse", "sparse", False), ("hybrid", "hybrid", False)]
    if rag.reranker.spec != "none":
        rows.append((f"hybrid + {rag.reranker.spec} (default)", "hybrid", True))
    rag.retrieve(questions[0].question)  # load models outside the timings
    table = {}
    for name, mode, rerank in rows:
        table[name] = _row(questions, lambda q, m=mode, r=rerank: rag.retrieve(q, k=DEPTH, mode=m, rerank=r),
                           lambda hits: not rag.is_answerable(hits))
    return table


EXCERPT_ROW = "default, as sentence excerpts (what the model reads)"


def excerpt_row(rag: RAG, questions: Sequence[EvalQuestion]) -> dict[str, float]:
    """gold@Nchars of the text the model would read: the default pipeline's excerpts of its top passages built
    with a budget of N characters (`RAG.answerer.excerpts`), for the chunk-size-neutral columns only."""
    answerable = [q for q in questions if q.answerable and q.gold_substrings]
    row: dict[str, float] = {}
    hits = {q.id: rag.retrieve(q.question)[: rag.config.answer.passages] for q in answerable}
    for budget in CHAR_BUDGETS:
        held = 0
        for q in answerable:
            text = "\n".join(e.text for e in rag.answerer.excerpts(q.question, hits[q.id], budget=budget, cost=len))
            held += excerpts_hold_gold(text, q.gold_substrings)
        row[f"gold@{budget}chars"] = held / max(len(answerable), 1)
    return row


def reranker_row(rag: RAG, questions: Sequence[EvalQuestion], spec: str) -> dict[str, float]:
    """Metrics of `rag`'s pipeline with another second stage (`rerank.reranker` = `spec`), sharing its LLM."""
    config = rag.config.model_copy(deep=True)
    config.apply({"rerank.reranker": spec}, source="--rerankers")
    other = RAG(rag.store, config, rag.embedder, generator=rag.answerer.generator, follow=False, refusal=rag.refusal)
    other.retrieve(questions[0].question)  # load models outside the timings
    return _row(questions, lambda q: other.retrieve(q, k=DEPTH), lambda hits: not other.is_answerable(hits))


def baseline_retriever(rag: RAG, tune: Sequence[EvalQuestion] | None = None) -> BaselineRetriever:
    """The plain baseline over the same documents and embedder as `rag`, its threshold fitted on `tune`."""
    documents = sorted(rag.store.documents.items())
    cache = default_index_dir().parent / "eval-baseline"
    embedder = CachedEmbedder(rag.embedder, default_cache_dir())
    index = BaselineIndex.cached(documents, embedder, cache, on_build=lambda: embedder.seed(rag.store))
    embedder.save()
    retriever = BaselineRetriever(index, rag.retriever.query_vector)
    tune = load_questions(TUNE_SET) if tune is None else tune
    best = [(retriever.retrieve(q.question, k=1) or [None])[0] for q in tune]
    retriever.min_score = fit_min_score([h.score if h else -1.0 for h in best], [q.answerable for q in tune])
    return retriever


def baseline_row(rag: RAG, questions: Sequence[EvalQuestion], tune: Sequence[EvalQuestion] | None = None) -> dict[str, float]:
    retriever = baseline_retriever(rag, tune)
    return _row(questions, lambda q: retriever.retrieve(q, k=DEPTH), retriever.refuses)


def _row(questions, search, refuses) -> dict[str, float]:
    evaluator = RetrievalEvaluator(questions)
    started = time.perf_counter()
    results = {q.id: search(q.question) for q in questions}
    elapsed = time.perf_counter() - started
    metrics = evaluator.score({q.id: results[q.id] for q in evaluator.questions})
    metrics.update(abstention_counts(questions, {q.id: refuses(results[q.id]) for q in questions}))
    metrics["ms_per_query"] = 1000 * elapsed / max(len(questions), 1)
    return metrics


def comparison_table(rows: Mapping[str, Mapping[str, float]]) -> str:
    """Markdown: one row per retriever, metrics then refusals as counts."""
    lines = ["| retriever | " + " | ".join(COLUMNS) + " | unanswerable refused | answerable wrongly refused | ms/question |",
             "|---|" + "---:|" * (len(COLUMNS) + 3)]
    for name, m in rows.items():
        cells = [f"{m[c]:.3f}" if c in m else "–" for c in COLUMNS]
        if "unanswerable" in m:
            cells += [f"{m['unanswerable_refused']:.0f}/{m['unanswerable']:.0f}",
                      f"{m['answerable_refused']:.0f}/{m['answerable']:.0f}", f"{m['ms_per_query']:.0f}"]
        else:
            cells += ["–", "–", "–"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare(rag: RAG, questions: Sequence[EvalQuestion], baseline: bool = True,
            tune: Sequence[EvalQuestion] | None = None, rerankers: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    """Rows of `comparison_table`; `tune` (default: the bundled tuning part) fits the baseline's threshold.
    `rerankers`: more second stages (specs such as ``llm:5``) to measure as rows of their own."""
    rows = project_rows(rag, questions)
    rows[EXCERPT_ROW] = excerpt_row(rag, questions)
    for spec in rerankers:
        rows[f"hybrid + {spec}"] = reranker_row(rag, questions, spec)
    if baseline:
        rows[BASELINE_NAME] = baseline_row(rag, questions, tune)
    return rows


def main() -> None:
    """``python -m rag_eval.retrieval_compare [--dataset test] [--index DIR]``: the same table as
    ``rag eval retrieval``, with query embeddings cached on disk between runs."""
    import argparse

    from rag.core.config import Config
    from rag_eval.datasets import dataset_path
    from rag_eval.embed_cache import open_cached_rag
    from rag_ingest.default_index import ensure_default_index

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="test")
    parser.add_argument("--index")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    config = Config.load(env={})
    index = args.index or ensure_default_index(config)
    rag = open_cached_rag(index, config)
    questions = load_questions(dataset_path(args.dataset))
    rows = compare(rag, questions, baseline=not args.no_baseline)
    rag.embedder.save()
    print(f"{sum(q.answerable for q in questions)} answerable questions of {len(questions)} in {args.dataset} "
          f"({index}); refusal: best-hit relevance < {rag.min_relevance:.3f}\n")
    print(comparison_table(rows))


if __name__ == "__main__":
    main()
