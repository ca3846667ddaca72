"""What a follow-up costs before its answer: making it standalone plus retrieval, per rewrite method.

    python bench/bench_conversation.py [--split tune|test] [--limit 20] [--methods llm,rule] [--plain-history]

For each follow-up conversation of the split (``eval/data/conversations_<split>.jsonl``) the first question is
answered with the LLM (untimed; this leaves its prompt in llama.cpp's cache, as in a real chat), then the
follow-up is made standalone (`RAG.standalone`) and retrieved (`RAG.retrieve` with the previous answer's passages)
and both are timed. ``--plain-history`` also times the model's rewrite from a history it cannot recognise (a
client's text, no cached prompt to continue). Prints p50 / p95 per method and the load average before and after:
run it with nothing else busy (on 2 cores every other process shows up in these numbers).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from rag.conversation.history import Turn
from rag.conversation.memo import TurnMemo
from rag.core.config import Config
from rag_eval.conversations import conversation_set, load_conversations
from rag_ingest.default_index import open_bundled_rag


def _cell(values: list[float]) -> str:
    if not values:
        return "–"
    p50, p95 = np.percentile(np.asarray(values), [50, 95])
    return f"{p50:.2f} / {p95:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="tune")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--methods", default="llm,rule", help="conversation.rewrite values, comma-separated")
    parser.add_argument("--plain-history", action="store_true", help="also time the model's rewrite without a cached prompt")
    args = parser.parse_args()

    conversations = [c for c in load_conversations(conversation_set(args.split)) if c.type == "followup"][: args.limit]
    rag = open_bundled_rag(config=Config.load(env={}), progress=False)
    rag.answerer.generator.warm_up()
    rag.ask("混合精度训练有什么好处？", mode="llm")  # loads everything and fills the cached system prompt
    load_before = os.getloadavg()[0]
    rows: dict[str, dict[str, list[float]]] = {}
    for method in args.methods.split(","):
        rag.config.conversation.rewrite = method
        variants = ["cached prompt", "plain history"] if method == "llm" and args.plain_history else ["cached prompt"]
        for variant in variants:
            times = rows.setdefault(f"{method}, {variant}" if method == "llm" else method,
                                    {"rewrite": [], "retrieve": [], "total": [], "model": []})
            for conversation in conversations:
                chat = rag.conversation(mode="llm")
                for question in conversation.extra["history"]:
                    chat.ask(question)
                history = chat.turns
                if variant == "plain history":
                    rag.memo = TurnMemo()  # nothing recognised: the model reads the turn as text
                    history = [Turn(t.question, t.answer) for t in history]
                started = time.perf_counter()
                standalone = rag.standalone(conversation.question, history, mode="llm")
                rewritten = time.perf_counter()
                rag.retrieve(standalone.question, carried=standalone.carried)
                done = time.perf_counter()
                times["rewrite"].append(rewritten - started)
                times["retrieve"].append(done - rewritten)
                times["total"].append(done - started)
                if standalone.method == "llm":
                    times["model"].append(rewritten - started)
    load_after = os.getloadavg()[0]
    print(f"{len(conversations)} follow-ups of the '{args.split}' conversations; seconds; "
          f"load average {load_before:.2f} before, {load_after:.2f} after\n")
    print("| rewrite | rewrite p50 / p95 | retrieval p50 / p95 | rewrite + retrieval p50 / p95 | model rewrites: n, p50 / p95 |")
    print("|---|---:|---:|---:|---:|")
    for name, times in rows.items():
        print(f"| {name} | {_cell(times['rewrite'])} | {_cell(times['retrieve'])} | {_cell(times['total'])} "
              f"| {len(times['model'])}, {_cell(times['model'])} |")


if __name__ == "__main__":
    main()
