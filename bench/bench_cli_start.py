"""Wall time of one-question CLI runs on the default index: what a person waits for from Enter to the answer.

    python bench/bench_cli_start.py [--runs 10] [--question "混合精度训练有什么好处？"]

Each round runs, as fresh processes: the bare interpreter, importing the CLI (`import rag_app.cli`),
`rag search QUESTION` and `rag ask QUESTION --mode extractive`; rounds interleave the commands so each sees
the same machine load. Prints p50 / p90 / min wall seconds per command, the p50 CPU seconds (user + system:
less sensitive than wall time to other jobs on a shared machine) and the load average before and after
(compare figures from one run). The default index is built first if needed.
Another checkout can be timed with PYTHONPATH pointing at its packages (the `rag` script imports `rag_app.cli`).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def rag_command() -> list[str]:
    """The `rag` console script beside this interpreter (or on PATH), else the CLI through this interpreter."""
    script = Path(sys.executable).with_name("rag")
    found = str(script) if script.is_file() else shutil.which("rag")
    return [found] if found else [sys.executable, "-c", "import sys; from rag_app.cli import main; sys.exit(main())"]


def run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of `command`."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds (each runs every command once)")
    parser.add_argument("--question", default="混合精度训练有什么好处？")
    args = parser.parse_args()

    rag = rag_command()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import rag_app.cli": [sys.executable, "-c", "import rag_app.cli"],
        "rag search": [*rag, "search", args.question],
        "rag ask --mode extractive": [*rag, "ask", args.question, "--mode", "extractive"],
    }
    subprocess.run([*rag, "search", args.question], check=True, stdout=subprocess.DEVNULL)  # builds the index if needed
    before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            wall, used = run(command)
            times[name].append(wall)
            cpu[name].append(used)
    after = os.getloadavg()

    print(f"{args.runs} runs each; load average {before[0]:.2f} before, {after[0]:.2f} after ({os.cpu_count()} CPUs)")
    print(f"{'command':28s} {'wall p50':>8s} {'wall p90':>8s} {'wall min':>8s} {'cpu p50':>8s}")
    for name, values in times.items():
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        print(f"{name:28s} {statistics.median(values):8.3f} {p90:8.3f} {min(values):8.3f} {statistics.median(cpu[name]):8.3f}")
    cli_import = statistics.median(times["import rag_app.cli"]) - statistics.median(times["python -c pass"])
    print(f"importing the CLI: {cli_import:.3f} s over the bare interpreter (p50 difference)")


if __name__ == "__main__":
    main()
