"""Raw llama.cpp speed per packaged model: prompt evaluation and decoding tokens/s.

    python bench/bench_prompt_eval.py [--models qwen2.5-coder-1.5b,qwen2.5-coder-0.5b] [--tokens 320]
                                      [--batch 512] [--threads 1,2] [--repeats 3]

Time to first token is prompt evaluation: this prints how many prompt tokens per second each model
evaluates from a cold context (a corpus passage, `--tokens` long; best of `--repeats`), and how many
tokens per second it then decodes greedily with each `--threads` value, so the prompt budget that
fits a first-token aim can be read off (first token ≈ uncached prompt tokens / prompt tokens/s).
Run it with nothing else busy.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from rag.generation.llama_cpp import LlamaCppGenerator

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DECODE_TOKENS = 24


def _text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("*.md")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b")
    parser.add_argument("--tokens", type=int, default=320, help="prompt length in tokens")
    parser.add_argument("--batch", type=int, default=512, help="llama.cpp n_batch (and n_ubatch)")
    parser.add_argument("--threads", default="1,2", help="decoding threads to try, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    text = _text()
    print(f"| model | prompt tokens | prompt tokens/s (best of {args.repeats}) | decoding threads | decoded tokens/s |")
    print("|---|---:|---:|---:|---:|")
    for model in args.models.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            generator = LlamaCppGenerator(model, n_ctx=2048, n_threads=threads, n_batch=args.batch)
            llm = generator.llama
            tokens = llm.tokenize(text.encode("utf-8"))[: args.tokens]
            seconds = []
            for _ in range(args.repeats):
                llm.reset()
                started = time.perf_counter()
                llm.eval(tokens)
                seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(DECODE_TOKENS):
                llm.eval([llm.sample(temp=0.0)])
            decode = DECODE_TOKENS / (time.perf_counter() - started)
            print(f"| {model} | {len(tokens)} | {len(tokens) / min(seconds):.1f} | {threads} | {decode:.1f} |", flush=True)
            del generator, llm


if __name__ == "__main__":
    main()
