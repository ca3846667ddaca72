"""When something useful is on screen in the chat UI: the passages the model reads, its first draft text, the
cited answer — seconds after the question is sent, in headless Chromium against the real app (LLM mode).

    python bench/bench_first_visible.py [--runs 5] [--generator qwen2.5-coder-1.5b]

Uses a knowledge base holding a temporary copy of the bundled corpus (built, and the models loaded, by one untimed
question first). Each run reloads the page and asks another answerable question of the tuning part (a repeated
question would find its whole prompt in llama.cpp's cache). Prints each run and the p50 / p95 of each stage, with the load average
before and after: run it with nothing else busy. Needs Debian's chromium and playwright (see ui/browser.py).
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from rag.core.paths import default_corpus_files
from rag_eval.datasets import dataset_path, load_questions
from rag_ui.browser import browser_page, missing_requirements, running_app, watch_stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--generator", default="qwen2.5-coder-1.5b")
    args = parser.parse_args()
    if (missing := missing_requirements()) is not None:
        raise SystemExit(missing)
    data = Path(tempfile.mkdtemp(prefix="rag-bench-ui-"))
    (data / "documents").mkdir()
    for path in default_corpus_files():
        shutil.copy(path, data / "documents" / path.name)
    env = {"RAG_DATA_DIR": str(data), "RAG_ANSWER_MODE": "llm", "RAG_ANSWER_GENERATOR": args.generator}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    questions = [q.question for q in load_questions(dataset_path("tune")) if q.answerable][: args.runs]
    stages = []
    try:
        with running_app(env, timeout=600) as url, browser_page() as page:
            watch_stages(page, url, "混合精度训练有什么好处？", timeout_s=900)  # builds the index, loads the models
            for question in questions:
                seen = watch_stages(page, url, question)
                print(f"{question[:30]}: passages {_s(seen.reading)}, first draft {_s(seen.draft)}, "
                      f"cited answer {seen.answer:.2f} s")
                stages.append(seen)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for name in ("reading", "draft", "answer"):
        values = [getattr(s, name) for s in stages if getattr(s, name) is not None]
        if values:
            p50, p95 = np.percentile(values, [50, 95])
            print(f"{name:8s} p50 {p50:.2f} s  p95 {p95:.2f} s  ({len(values)} of {len(stages)} runs)")


def _s(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.2f} s"


if __name__ == "__main__":
    main()
