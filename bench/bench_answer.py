"""End-to-end `RAG.ask` latency per answer mode on the default index (packaged models).

    python bench/bench_answer.py [--limit N]

Prints p50/p95 of time to first token (LLM mode) and total time per question over the dev set, plus
the two reference questions from the README (one answered, one refused). Model loading is excluded:
each mode answers one warm-up question first (its time is the "model load" column).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from rag.core.config import Config
from rag_eval.datasets import DEV_SET, load_questions
from rag_ingest.default_index import open_bundled_rag

REFERENCE = ("混合精度训练有什么好处？", "今天北京天气怎么样？")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N dev questions")
    args = parser.parse_args()
    rag = open_bundled_rag(config=Config.load(env={}), progress=False)
    questions = [q.question for q in load_questions(DEV_SET)][: args.limit]
    print(f"{len(questions)} dev questions; times in seconds\n")
    print("| mode | first token p50 / p95 | total p50 / p95 | model load |")
    print("|---|---:|---:|---:|")
    reference_rows = []
    for mode in ("extractive", "llm"):
        started = time.perf_counter()
        rag.ask(REFERENCE[0], mode=mode)  # answerable, so the LLM is loaded here
        load = time.perf_counter() - started
        first, total = [], []
        for question in questions:
            started = time.perf_counter()
            answer = rag.ask(question, mode=mode)
            total.append(time.perf_counter() - started)
            if "first_token_ms" in answer.timings:
                first.append(answer.timings["first_token_ms"] / 1000)
        first_cell = " / ".join(f"{v:.2f}" for v in np.percentile(first, [50, 95])) if first else "–"
        total_cell = " / ".join(f"{v:.2f}" for v in np.percentile(total, [50, 95]))
        print(f"| {mode} | {first_cell} | {total_cell} | {load:.2f} |")
        for question in REFERENCE:
            answer = rag.ask(question, mode=mode)
            reference_rows.append(
                f"| {mode} | {question} | {'refused' if answer.abstained else 'answered'} "
                f"| {answer.timings.get('first_token_ms', float('nan')) / 1000:.2f} | {answer.timings['total_ms'] / 1000:.2f} |"
            )
    print("\n| mode | question | outcome | first token | total |\n|---|---|---|---:|---:|")
    print("\n".join(reference_rows))


if __name__ == "__main__":
    main()
