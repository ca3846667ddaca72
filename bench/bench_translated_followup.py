"""What a follow-up costs after an answer retold in Chinese: translation asked in the answer's chat, or apart.

    rag ingest eval/corpora/pkgdocs --index /tmp/pkgidx
    python bench/bench_translated_followup.py --index /tmp/pkgidx [--dataset eval/data/pkgdocs.jsonl]

A Chinese question over English documents is answered in English and each kept sentence is translated
(`rag.answering.translation`). The translation requests continue the answer's chat, so llama.cpp still holds that
chat when a follow-up is rewritten in it. For each answerable Chinese question of the dataset this answers it with the
LLM (translation time from its timings), times making the follow-up standalone (`RAG.standalone`), then translates one
of its sentences apart from the chat (after the system prompt alone, as before) and times the same follow-up again:
that is what a follow-up costs when the chat is no longer cached. Prints per question and p50 / p95 with the ratio.
Run it with nothing else busy.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from rag.answering.translation import AnswerTranslator
from rag.api import RAG
from rag.conversation.history import Turn

FOLLOW_UP = "它还有什么需要注意的？"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _timed_standalone(rag: RAG, history: list[Turn]) -> tuple[float, str]:
    started = time.perf_counter()
    standalone = rag.standalone(FOLLOW_UP, history, mode="llm")
    return time.perf_counter() - started, standalone.question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="an index over English documents (e.g. eval/corpora/pkgdocs)")
    parser.add_argument("--dataset", default="eval/data/pkgdocs.jsonl")
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.dataset).read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [row["question"] for row in rows if row.get("lang") == "zh" and row.get("answerable")]
    rag = RAG.open(args.index, progress=False)
    in_chat, apart, translating = [], [], []
    for question in questions:
        answer = rag.ask(question, mode="llm")
        if answer.abstained or "translate_ms" not in answer.timings:
            print(f"{question}: not answered by the model in English, skipped")
            continue
        translating.append(answer.timings["translate_ms"] / 1000)
        history = [Turn.from_answer(answer)]
        cached, rewritten = _timed_standalone(rag, history)
        AnswerTranslator(rag.answerer.generator).attempt(answer.raw.split(". ")[0], "zh")  # the chat leaves the cache
        uncached, _ = _timed_standalone(rag, history)
        in_chat.append(cached)
        apart.append(uncached)
        print(f"{question}\n  translate {translating[-1]:.2f} s; follow-up after the chat {cached:.2f} s, "
              f"after a translation apart {uncached:.2f} s -> {rewritten}")
    if not in_chat:
        raise SystemExit("no question was answered in English and translated: is the index over English documents?")
    print(f"\n{len(in_chat)} answers; translation p50 {statistics.median(translating):.2f} s, p95 {_p95(translating):.2f} s")
    print(f"follow-up standalone, chat cached: p50 {statistics.median(in_chat):.2f} s, p95 {_p95(in_chat):.2f} s")
    print(f"follow-up standalone, chat evicted: p50 {statistics.median(apart):.2f} s, p95 {_p95(apart):.2f} s")
    print(f"ratio (evicted / cached, p50): {statistics.median(apart) / statistics.median(in_chat):.1f}x "
          f"({rag.answerer.generator.spec})")


if __name__ == "__main__":
    main()
