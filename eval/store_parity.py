"""Does a Milvus-backed index answer as the local folder does? Top-k overlap, recall@k and MRR, side by side.

    python -m rag_eval.store_parity                       # dev questions, the default index, exported to Lite
    python -m rag_eval.store_parity --via ingest          # build the Lite index through `rag ingest` instead
    python -m rag_eval.store_parity --milvus milvus+http://host:19530/kb --dataset test

The Milvus index is filled from the local one with `rag index export` (the same vectors), or with
``--via ingest`` by the builder (chunking again and writing through the Milvus writer; passage vectors
come from the evaluation embedding cache, seeded from the local index, so texts are embedded only once
on these 2 cores). For each first stage
(dense, sparse, hybrid) and the default pipeline (hybrid + the second stage) it prints the mean share of
the local top-k that the Milvus top-k also holds, the share of questions with the same top-k order, and recall@1/5/10 and MRR@10 of both over the
answerable questions. Passes (exit 0) when hybrid and default overlap is at least 0.95 and every
recall/MRR differs by at most 0.01.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from rag.api import RAG
from rag.core.config import Config
from rag_eval.datasets import dataset_path, load_questions
from rag_eval.retrieval import RetrievalEvaluator

STAGES = (("dense", "dense", False), ("sparse", "sparse", False), ("hybrid", "hybrid", False), ("default", "hybrid", True))
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10")
MIN_OVERLAP = 0.95
MAX_METRIC_GAP = 0.01


def parity(local: RAG, remote: RAG, questions: Sequence, k: int = 10) -> dict[str, dict[str, float]]:
    """Per stage: ``overlap@k`` (mean |local ∩ remote| / |local|), the share of questions whose top k come
    in the same order, and each store's metrics."""
    evaluator = RetrievalEvaluator(questions)
    rows = {}
    for name, mode, rerank in STAGES:
        results = {
            side: {q.id: rag.retrieve(q.question, k=k, mode=mode, rerank=rerank) for q in questions}
            for side, rag in (("local", local), ("milvus", remote))
        }
        overlaps, same = [], 0
        for q in questions:
            ours = [h.chunk.id for h in results["local"][q.id]]
            theirs = [h.chunk.id for h in results["milvus"][q.id]]
            same += ours == theirs
            if ours:
                overlaps.append(len(set(ours) & set(theirs)) / len(ours))
        row = {f"overlap@{k}": sum(overlaps) / len(overlaps) if overlaps else 1.0, "same order": same / len(questions)}
        for side in ("local", "milvus"):
            scores = evaluator.score({q.id: results[side][q.id] for q in evaluator.questions})
            row.update({f"{side} {metric}": scores[metric] for metric in METRICS})
        rows[name] = row
    return rows


def table(rows: dict[str, dict[str, float]], k: int) -> str:
    head = [f"overlap@{k}", "same order"] + [f"{side} {m}" for m in METRICS for side in ("local", "milvus")]
    lines = ["| stage | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    lines += [f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in head) + " |" for name, row in rows.items()]
    return "\n".join(lines)


def passes(rows: dict[str, dict[str, float]], k: int) -> bool:
    overlap = all(rows[name][f"overlap@{k}"] >= MIN_OVERLAP for name in ("hybrid", "default"))
    gaps = all(abs(row[f"local {m}"] - row[f"milvus {m}"]) <= MAX_METRIC_GAP for row in rows.values() for m in METRICS)
    return overlap and gaps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="dev", help="tune, test, dev (default) or a JSONL/CSV file")
    parser.add_argument("--index", help="local index folder (default: the bundled corpus's, built when missing)")
    parser.add_argument("--milvus", help="Milvus store URI to fill and compare (default: a Lite file in a temp folder)")
    parser.add_argument("--via", choices=("export", "ingest"), default="export", help="how to fill it (default export)")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)

    from rag.embedding.embedders import make_embedder
    from rag_eval.embed_cache import CachedEmbedder, default_cache_dir
    from rag_ingest.builder import IndexBuilder
    from rag_ingest.default_index import ensure_default_index
    from rag_ingest.export import export_index

    config = Config.load()
    questions = load_questions(dataset_path(args.dataset, default="dev"))
    local_dir = Path(args.index) if args.index else ensure_default_index(config)
    with tempfile.TemporaryDirectory(prefix="rag-parity-") as scratch:
        uri = args.milvus or f"milvus:{Path(scratch) / 'parity.db'}"
        local = RAG.open(local_dir, config=config)
        if args.via == "export":
            print(export_index(local_dir, uri, config), file=sys.stderr)
        else:
            embedder = CachedEmbedder(make_embedder(config.embedder), default_cache_dir())
            embedder.seed(local.store)
            known = len(embedder.cache)
            print(IndexBuilder(config, embedder).build(local.store.manifest["sources"], uri).summary(), file=sys.stderr)
            print(f"{len(embedder.cache) - known} texts were not in the embedding cache and were embedded", file=sys.stderr)
        remote = RAG.open(uri, config=config)
        rows = parity(local, remote, questions, args.k)
    answerable = len(RetrievalEvaluator(questions).questions)
    print(f"{len(questions)} questions ({answerable} answerable) from {dataset_path(args.dataset, default='dev')}; "
          f"local {local_dir} vs {uri} (filled by {args.via})\n")
    print(table(rows, args.k))
    ok = passes(rows, args.k)
    print(f"\n{'PASS' if ok else 'FAIL'}: hybrid/default overlap@{args.k} >= {MIN_OVERLAP} and every recall/MRR "
          f"within {MAX_METRIC_GAP}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
