"""Raw llama.cpp speed per packaged model: prompt evaluation and decoding tokens/s.

    python bench/bench_prompt_eval.py [--models qwen2.5-coder-1.5b,qwen2.5-coder-0.5b] [--tokens 320]
                                      [--batch 512] [--threads 1,2] [--repeats 3] [--steps 32,64,128] [--grid]
                                      [--english]

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
    parser.add_argument("--grid", action="store_true", help="prompt tokens/s over n_batch x n_ubatch x KV-cache type x "
                        "prompt threads for the first model, reading after a cached prefix as answers do")
    parser.add_argument("--steps", default="", help="also read the prompt in steps of this many tokens (comma-separated), "
                        "as LlamaCppGenerator.read does to report progress, and compare with one batch")
    parser.add_argument("--english", action="store_true", help="decoding speed of the first model writing English "
                        "unconstrained (`stream`) and kept to the English script (`stream_in`, CJK tokens masked)")
    args = parser.parse_args()
    if args.english:
        compare_english(args.models.split(",")[0], args.repeats)
        return
    if args.grid:
        grid(args.models.split(",")[0], args.tokens, args.repeats)
        return
    if args.steps:
        compare_steps(args.models.split(",")[0], args.tokens, [int(s) for s in args.steps.split(",")], args.repeats)
        return

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


GRID = {"n_batch": (128, 512), "n_ubatch": (128, 512), "type_k": ("f16", "q8_0"), "n_threads_batch": (1, 2)}
"""Settings `grid` tries (llama.cpp's own defaults: n_batch 512 / n_ubatch 512 / f16 / all cores)."""


def grid(model: str, length: int, repeats: int, prefix: int = 350) -> None:
    """Prompt tokens/s for every combination of `GRID`: `length` new tokens read after a `prefix`-token cached prefix
    (as an answer's passages follow the cached system prompt), best of `repeats`."""
    import itertools

    import llama_cpp

    from rag.generation.llama_cpp import packaged_model_path

    types = {"f16": llama_cpp.GGML_TYPE_F16, "q8_0": llama_cpp.GGML_TYPE_Q8_0}
    path = str(packaged_model_path(model))
    print(f"| {model}: n_batch | n_ubatch | KV cache | prompt threads | tokens/s ({length} after {prefix}, best of {repeats}) |")
    print("|---:|---:|---|---:|---:|")
    for n_batch, n_ubatch, kv, threads in itertools.product(*GRID.values()):
        if n_ubatch > n_batch:
            continue
        kwargs = dict(n_ctx=2048, n_batch=n_batch, n_ubatch=n_ubatch, n_threads=1, n_threads_batch=threads, verbose=False)
        if kv != "f16":  # a quantized V cache needs flash attention
            kwargs.update(type_k=types[kv], type_v=types[kv], flash_attn=True)
        llm = llama_cpp.Llama(model_path=path, **kwargs)
        tokens = llm.tokenize(_text().encode("utf-8"))[: prefix + length]
        best = float("inf")
        for _ in range(repeats):
            llm.reset()
            llm.eval(tokens[:prefix])
            started = time.perf_counter()
            llm.eval(tokens[prefix:])
            best = min(best, time.perf_counter() - started)
        print(f"| {n_batch} | {n_ubatch} | {kv} | {threads} | {length / best:.1f} |", flush=True)
        del llm


def compare_steps(model: str, length: int, steps: list[int], repeats: int) -> None:
    """Prompt tokens/s reading `length` tokens in one batch and in steps (each best of `repeats`, interleaved)."""
    generator = LlamaCppGenerator(model, n_ctx=2048)
    llm = generator.llama
    tokens = llm.tokenize(_text().encode("utf-8"))[:length]
    best = {step: float("inf") for step in [length, *steps]}
    for _ in range(repeats):
        for step in best:
            llm.reset()
            started = time.perf_counter()
            for at in range(0, len(tokens), step):
                llm.eval(tokens[at:at + step])
            best[step] = min(best[step], time.perf_counter() - started)
    print(f"| {model}: {len(tokens)} prompt tokens read in steps of | tokens/s (best of {repeats}) | time ÷ one batch |")
    print("|---:|---:|---:|")
    for step, seconds in best.items():
        print(f"| {step} | {len(tokens) / seconds:.1f} | {seconds / best[length]:.2f} |")


ENGLISH_PROMPT = "混合精度训练的优势：半精度浮点数的计算速度比单精度浮点数快，可以显著提高训练速度。\n\nIn English, explain in detail:"
ENGLISH_TOKENS = 48


def compare_english(model: str, repeats: int) -> None:
    """Decoding tokens/s writing freely and kept to the English script (the prompt is cached before each timing)."""
    generator = LlamaCppGenerator(model, n_ctx=2048)
    generator.complete(ENGLISH_PROMPT, max_tokens=1)  # reads the prompt; later calls reuse it
    started = time.perf_counter()
    "".join(generator.stream_in("en", ENGLISH_PROMPT, max_tokens=1))  # run to its end: the stream holds the model's lock
    print(f"finding the CJK tokens to mask (once per process): {time.perf_counter() - started:.2f} s")
    print(f"| model | writing | tokens | tokens/s (best of {repeats}) |")
    print("|---|---|---:|---:|")
    rates = {}
    for name, stream in (("free (stream)", lambda: generator.stream(ENGLISH_PROMPT, max_tokens=ENGLISH_TOKENS)),
                         ("English script (stream_in)", lambda: generator.stream_in("en", ENGLISH_PROMPT, max_tokens=ENGLISH_TOKENS))):
        best = 0.0
        for _ in range(repeats):
            started = time.perf_counter()
            tokens = generator.count_tokens("".join(stream()))
            best = max(best, tokens / (time.perf_counter() - started))
        rates[name] = best
        print(f"| {model} | {name} | {tokens} | {best:.1f} |", flush=True)
    free, kept = rates.values()
    print(f"kept to English / free: {kept / free:.2f}")


if __name__ == "__main__":
    main()
