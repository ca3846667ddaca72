"""Choose the retrieval settings on the tuning part only: chunk size, RRF k, fusion weights, second stage.

    python -m rag_eval.tune_retrieval [--chunks 400,600,800] [--top 15] [--check-test]

For each chunk size an index of the bundled corpus is built once (cached under
``~/.cache/rag/eval-tuning/``). For every question of the tuning part the dense and BM25 candidate
lists and the evidence of every candidate are computed once; each setting of the grid then only
re-fuses and re-scores them, so the whole grid costs seconds. Settings are ranked by MRR@10 + recall@5
on the tuning part; of the settings within `TOLERANCE` of the best (one question moving one rank is
about 0.005 here), the one that changes fewest values of the current default wins. `--check-test`
also prints the chosen setting's test-part metrics, once, after the choice is made.
"""
from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass, replace
from typing import Sequence

from rag.api import RAG
from rag.core.config import Config
from rag.core.paths import default_corpus_files, default_index_dir
from rag.core.schema import Hit
from rag.retrieval.fusion import reciprocal_rank_fusion
from rag_eval.datasets import TEST_SET, TUNE_SET, EvalQuestion, load_questions
from rag_eval.report import retrieval_table
from rag_eval.retrieval import RetrievalEvaluator

CANDIDATES = 50
TOLERANCE = 0.005


@dataclass(frozen=True)
class Setting:
    max_chars: int
    rrf_k: float
    sparse_weight: float
    passage_weight: float
    prior: float
    top_n: int

    def label(self) -> str:
        return (f"chunks {self.max_chars}, rrf_k {self.rrf_k:g}, sparse w {self.sparse_weight:g}, "
                f"passage w {self.passage_weight:g}, prior {self.prior:g}, top {self.top_n}")


GRID = {
    "rrf_k": (10.0, 20.0, 30.0, 60.0),
    "sparse_weight": (0.5, 0.75, 1.0, 1.5),
    "passage_weight": (0.3, 0.5, 0.7, 1.0),
    "prior": (0.0, 0.01, 0.02, 0.05),
    "top_n": (20, 30, 50),
}


def chunking_overrides(max_chars: int) -> dict[str, float]:
    """Overlap and minimum piece size scale with the chunk size (80/100 at the 400 default)."""
    return {"chunking.max_chars": max_chars, "chunking.overlap_chars": max_chars // 5,
            "chunking.min_chars": max_chars // 4}


def open_index(max_chars: int) -> RAG:
    """A RAG over the bundled corpus chunked at `max_chars`, built once into the tuning cache.

    Builds share one passage-embedding cache (seeded from the tuning indexes already built), so a new
    chunk size embeds only the passages and sentences no earlier build had."""
    from rag.embedding.embedders import make_embedder
    from rag.index.local import IndexStore
    from rag_eval.embed_cache import CachedEmbedder, default_cache_dir
    from rag_ingest.builder import IndexBuilder

    config = Config.load(env={}, overrides=chunking_overrides(max_chars))
    tuning = default_index_dir().parent / "eval-tuning"
    folder = tuning / f"chunks-{max_chars}"
    embedder = CachedEmbedder(make_embedder(config.embedder), default_cache_dir())
    builder = IndexBuilder(config, embedder)
    if builder.needs_build(default_corpus_files(), folder):
        for built in [default_index_dir(), *sorted(tuning.glob("chunks-*"))]:
            try:
                embedder.seed(IndexStore.open(built))
            except Exception:  # noqa: BLE001 - an unreadable or missing index just seeds nothing
                continue
        builder.build(default_corpus_files(), folder, progress=True)
        embedder.save()
    config.index_dir = str(folder)
    return RAG(IndexStore.open(folder, embedder_spec=embedder.spec), config, embedder)


class Candidates:
    """Per question: dense and sparse rankings (bare-question passages dropped) and each row's evidence."""

    def __init__(self, rag: RAG, questions: Sequence[EvalQuestion]) -> None:
        self.rag = rag
        store = rag.store
        keep = lambda ranking: [(r, s) for r, s in ranking if not store.chunks[r].meta.get("question_only")]  # noqa: E731
        self.rankings = {}
        self.evidence = {}
        for q in questions:
            dense = keep(store.dense.search(rag.retriever.query_vector(q.question), CANDIDATES))
            sparse = keep(store.sparse.search(q.question, CANDIDATES))
            self.rankings[q.id] = {"dense": dense, "sparse": sparse}
            rows = sorted({r for r, _ in dense} | {r for r, _ in sparse})
            found = rag.evidence.hits(q.question, [Hit(store.chunks[r], 0.0) for r in rows])
            self.evidence[q.id] = dict(zip(rows, found))

    def ranked(self, question_id: str, s: Setting, depth: int = 10) -> list[Hit]:
        fused = reciprocal_rank_fusion(self.rankings[question_id], k=s.rrf_k,
                                       weights={"dense": 1.0, "sparse": s.sparse_weight})[: s.top_n]
        evidence = self.evidence[question_id]
        scored = []
        for rank, f in enumerate(fused):
            e = evidence[f.row]
            score = s.passage_weight * e.dense + (1 - s.passage_weight) * e.best_sentence + s.prior / (1 + rank)
            scored.append(Hit(self.rag.store.chunks[f.row], score))
        scored.sort(key=lambda h: -h.score)
        return scored[:depth]


def score(candidates: Candidates, evaluator: RetrievalEvaluator, setting: Setting) -> dict[str, float]:
    return evaluator.score({q.id: candidates.ranked(q.id, setting) for q in evaluator.questions})


CURRENT = Setting(400, 10.0, 1.0, 0.5, 0.01, 30)  # before this search
"""The defaults before this search (rag/core/config.py, rag/retrieval/rerankers.py)."""


def objective(metrics: dict[str, float]) -> float:
    return round(metrics["mrr@10"] + metrics["recall@5"], 9)


def changes(setting: Setting) -> int:
    """How many values differ from the current default."""
    return sum(getattr(setting, f) != getattr(CURRENT, f) for f in Setting.__dataclass_fields__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", default="400,600,800", help="comma-separated chunk sizes (max_chars)")
    parser.add_argument("--top", type=int, default=15, help="how many of the best settings to print")
    parser.add_argument("--check-test", action="store_true", help="print the chosen setting's test-part metrics")
    args = parser.parse_args()
    tune = RetrievalEvaluator(load_questions(TUNE_SET))
    current = CURRENT
    results: list[tuple[Setting, dict[str, float]]] = []
    indexes: dict[int, Candidates] = {}
    for max_chars in (int(c) for c in args.chunks.split(",")):
        indexes[max_chars] = Candidates(open_index(max_chars), tune.questions)
        for values in itertools.product(*GRID.values()):
            setting = Setting(max_chars, *values)
            results.append((setting, score(indexes[max_chars], tune, setting)))
    results.sort(key=lambda item: (-objective(item[1]), changes(item[0])))
    table = {f"{s.label()}": m for s, m in results[: args.top]}
    by_setting = dict(results)
    for max_chars in indexes:
        best = next(s for s, _ in results if s.max_chars == max_chars)
        table[f"best at {max_chars}: {best.label()}"] = by_setting[best]
    for name, s in (("current default", current), ("baseline-like (600, k 60)", replace(current, max_chars=600, rrf_k=60.0))):
        if s in by_setting:
            table[f"{name}: {s.label()}"] = by_setting[s]
    best = objective(results[0][1])
    near = [(s, m) for s, m in results if objective(m) >= best - TOLERANCE]
    chosen = min(near, key=lambda item: (changes(item[0]), -objective(item[1])))[0]
    table[f"chosen: {chosen.label()}"] = by_setting[chosen]
    print(f"Tuning part: {len(tune.questions)} answerable questions; {len(results)} settings\n")
    print(retrieval_table(table, columns=("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")))
    print(f"\nchosen on the tuning part: {chosen.label()} ({changes(chosen)} changes from the current default)")
    if args.check_test:
        test = RetrievalEvaluator(load_questions(TEST_SET))
        rag = indexes[chosen.max_chars].rag
        candidates = Candidates(rag, test.questions)
        rows = {f"chosen: {chosen.label()}": score(candidates, test, chosen)}
        if current.max_chars in indexes:
            rows[f"current: {current.label()}"] = score(Candidates(indexes[current.max_chars].rag, test.questions), test, current)
        print("\nTest part (reported, not used for the choice):\n")
        print(retrieval_table(rows, columns=("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")))
    next(iter(indexes.values())).rag.embedder.save()


if __name__ == "__main__":
    main()
