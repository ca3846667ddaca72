"""Ingest throughput and query latency on the default corpus with the packaged embedder.

    python bench/bench_retrieval.py [--repeat 3]

Prints chunks/s for a cold build (every chunk and evidence sentence embedded) and a warm re-ingest
(nothing changed), then p50/p95 query latency of each first stage over the dev-set questions, and the
latency the configured second stage adds on top of hybrid retrieval.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.api import RAG
from rag.core.config import Config
from rag.core.paths import default_corpus_files
from rag.embedding.embedders import make_embedder
from rag_eval.datasets import DEV_SET, load_questions
from rag_ingest.builder import IndexBuilder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions per retriever")
    args = parser.parse_args()

    config = Config.load(env={})
    embedder = make_embedder(config.embedder)
    embedder.warm_up()
    with tempfile.TemporaryDirectory() as folder:
        index_dir = Path(folder) / "index"
        builder = IndexBuilder(config, embedder)
        started = time.perf_counter()
        report = builder.build(default_corpus_files(), index_dir, progress=False)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        builder.build(default_corpus_files(), index_dir, progress=False)
        warm = time.perf_counter() - started
        print(f"corpus: {report.documents} documents, {report.chunks} chunks, embedder {embedder.spec}")
        print(f"ingest cold: {cold:.1f}s = {report.chunks / cold:.1f} chunks/s "
              f"(semantic splits + {report.chunks} chunks and their evidence sentences embedded)")
        print(f"ingest warm (nothing changed): {warm:.2f}s = {report.chunks / warm:.0f} chunks/s")

        rag = RAG.open(index_dir, config=config)
        questions = [q.question for q in load_questions(DEV_SET)]
        rag.retrieve(questions[0])  # load jieba's dictionary and the models outside the timings
        print(f"\nquery latency over {len(questions)} questions x {args.repeat} (ms):")
        print("| stage | p50 | p95 | mean |\n|---|---:|---:|---:|")
        rows = [("sparse", "sparse", False), ("dense", "dense", False), ("hybrid", "hybrid", False),
                (f"hybrid + {rag.reranker.spec}", "hybrid", True)]
        timings: dict[str, np.ndarray] = {}
        for name, mode, rerank in rows:
            samples = []
            for _ in range(args.repeat):
                for question in questions:
                    rag.retriever._query_vector.cache_clear()  # time the query embedding every call
                    started = time.perf_counter()
                    rag.retrieve(question, k=10, mode=mode, rerank=rerank)
                    samples.append(1000 * (time.perf_counter() - started))
            timings[name] = np.array(samples)
            p50, p95 = np.percentile(samples, [50, 95])
            print(f"| {name} | {p50:.2f} | {p95:.2f} | {statistics.fmean(samples):.2f} |")
        added = timings[rows[-1][0]] - timings["hybrid"]
        p50, p95 = np.percentile(added, [50, 95])
        print(f"\nadded by {rag.reranker.spec} (paired per question): p50 {p50:.2f} ms, p95 {p95:.2f} ms")
        print("(every row includes the relevance score used for abstention)")


if __name__ == "__main__":
    main()
