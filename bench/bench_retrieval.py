"""Ingest throughput and query latency on the default corpus with the packaged embedder.

    python bench/bench_retrieval.py [--repeat 3]

Prints chunks/s for a cold build (every chunk embedded) and a warm re-ingest (nothing changed),
then p50/p95 query latency of each retriever over the dev-set questions.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.datasets import DEV_SET, load_questions
from ingest.builder import IndexBuilder
from rag.config import Config
from rag.defaults import default_corpus_files
from rag.embedders import make_embedder
from rag.retriever import Retriever
from rag.store import IndexStore


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
        print(f"ingest cold: {cold:.1f}s = {report.chunks / cold:.1f} chunks/s (chunking with semantic splits + embedding)")
        print(f"ingest warm (nothing changed): {warm:.2f}s = {report.chunks / warm:.0f} chunks/s")

        store = IndexStore.open(index_dir)
        retriever = Retriever(store, embedder, config.retrieval)
        questions = [q.question for q in load_questions(DEV_SET)]
        retriever.retrieve(questions[0])  # load jieba's dictionary outside the timings
        print(f"\nquery latency over {len(questions)} questions x {args.repeat} (ms):")
        print("| retriever | p50 | p95 | mean |\n|---|---:|---:|---:|")
        for mode in ("sparse", "dense", "hybrid"):
            timings = []
            for _ in range(args.repeat):
                for question in questions:
                    started = time.perf_counter()
                    retriever.retrieve(question, k=10, mode=mode)
                    timings.append(1000 * (time.perf_counter() - started))
            p50, p95 = np.percentile(timings, [50, 95])
            print(f"| {mode} | {p50:.2f} | {p95:.2f} | {statistics.fmean(timings):.2f} |")


if __name__ == "__main__":
    main()
