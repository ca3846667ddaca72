"""Second-stage variants measured side by side on a question set (the README's table comes from here).

    python -m rag_eval.variants [--dataset tune|test|FILE]   (default: the tuning part)

Every variant re-orders the same top-30 hybrid hits using the evidence the index already holds
(passage and evidence-sentence embeddings), so differences are the scoring rule alone.
"""
from __future__ import annotations

import argparse
from typing import Callable

from rag.core.config import Config
from rag.retrieval.evidence import HitEvidence
from rag_eval.datasets import dataset_path, load_questions
from rag_eval.report import retrieval_table
from rag_eval.retrieval import RetrievalEvaluator
from rag_ingest.default_index import open_bundled_rag

Rule = Callable[[HitEvidence, int], float]

VARIANTS: dict[str, Rule] = {
    "passage cosine only": lambda e, rank: e.dense,
    "best sentence only": lambda e, rank: e.best_sentence,
    "0.5 passage + 0.5 best sentence (default)": lambda e, rank: 0.5 * e.dense + 0.5 * e.best_sentence,
    "best sentence + first-stage prior": lambda e, rank: e.best_sentence + 0.01 / (1 + rank),
    "0.5 passage + 0.5 best sentence + prior": lambda e, rank: 0.5 * e.dense + 0.5 * e.best_sentence + 0.01 / (1 + rank),
    "+ keyword coverage": lambda e, rank: 0.5 * e.dense + 0.5 * e.best_sentence + 0.01 / (1 + rank) + 0.02 * e.coverage,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="tune")
    args = parser.parse_args()
    rag = open_bundled_rag(config=Config.load(env={}), progress=False)
    questions = load_questions(dataset_path(args.dataset))
    evaluator = RetrievalEvaluator(questions)
    scorer = rag.evidence
    first_stage = {q.id: rag.retrieve(q.question, k=rag.config.rerank.top_n, rerank=False) for q in evaluator.questions}
    evidence = {q.id: scorer.hits(q.question, first_stage[q.id]) for q in evaluator.questions}
    table = {"hybrid (no second stage)": evaluator.score(first_stage)}
    for name, rule in VARIANTS.items():
        results = {}
        for q in evaluator.questions:
            order = sorted(range(len(first_stage[q.id])), key=lambda i: -rule(evidence[q.id][i], i))
            results[q.id] = [first_stage[q.id][i] for i in order]
        table[name] = evaluator.score(results)
    print(retrieval_table(table, columns=("recall@1", "recall@5", "recall@10", "mrr@10")))


if __name__ == "__main__":
    main()
