"""LLM answer latency per packaged model, prompt budget and thread setting, through `RAG.ask`.

    python bench/bench_llm.py [--models qwen2.5-coder-1.5b,qwen2.5-coder-0.5b] [--budgets 400,600,900]
                              [--threads 1,2] [--limit 12] [--split tune]

For each combination it answers the first `--limit` answerable questions of the split (after one
warm-up question that loads the model and fills the cached system-prompt prefix) and prints p50/p95
of the prompt size, time to first token and total time, plus how many answers fell back or refused.
Run it with nothing else busy: on 2 cores every other process shows up in these numbers.
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np

from rag.api import RAG
from rag.core.config import Config
from rag.generation.factory import make_generator
from rag_eval.datasets import dataset_path, load_questions
from rag_ingest.default_index import open_bundled_rag

WARM_UP = "混合精度训练有什么好处？"


def _cell(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "–"
    p50, p95 = np.percentile(np.asarray(values) * scale, [50, 95])
    return f"{p50:.{digits}f} / {p95:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="qwen2.5-coder-1.5b")
    parser.add_argument("--budgets", default="600", help="answer.excerpt_chars values, comma-separated")
    parser.add_argument("--threads", default="0", help="decoding threads (0 = the generator's default)")
    parser.add_argument("--batch", type=int, default=512, help="llama.cpp n_batch")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--split", default="tune")
    args = parser.parse_args()

    base = open_bundled_rag(config=Config.load(env={}), progress=False)
    questions = [q.question for q in load_questions(dataset_path(args.split)) if q.answerable][: args.limit]
    print(f"{len(questions)} answerable '{args.split}' questions; times in seconds\n")
    print("| model | excerpt chars | threads | prompt tokens p50 / p95 | first token p50 / p95 | total p50 / p95 "
          "| fallbacks | refused | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for model in args.models.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            settings = copy.deepcopy(base.config)
            generator = make_generator(model, n_ctx=settings.answer.n_ctx, repeat_penalty=settings.answer.repeat_penalty,
                                       n_threads=threads or None, n_batch=args.batch)
            started = time.perf_counter()
            generator.warm_up()
            load = time.perf_counter() - started
            for budget in (int(b) for b in args.budgets.split(",")):
                settings.answer.excerpt_chars = budget
                rag = RAG(base.store, settings, base.embedder, generator=generator)
                rag.ask(WARM_UP, mode="llm")
                prompt, first, total, fallbacks, refused = [], [], [], 0, 0
                for question in questions:
                    started = time.perf_counter()
                    answer = rag.ask(question, mode="llm")
                    total.append(time.perf_counter() - started)
                    fallbacks += answer.fallback is not None
                    refused += answer.abstained
                    if "first_token_ms" in answer.timings:
                        first.append(answer.timings["first_token_ms"] / 1000)
                        prompt.append(answer.prompt_tokens)
                print(f"| {model} | {budget} | {threads or generator.n_threads} | {_cell(prompt, digits=0)} | "
                      f"{_cell(first)} | {_cell(total)} | {fallbacks} | {refused} | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
