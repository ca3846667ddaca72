"""When the answer starts: time to the first token against the model's own reading time, and follow-ups that reuse
what the model read for the previous answer.

    python bench/bench_first_token.py [--split tune] [--questions 12] [--conversations 20] [--part fresh,followup]

``fresh``: tuning questions asked one after another (LLM mode, no history). For each, the time from the question
to the first token (retrieval, excerpts, prompt, reading, first token) is divided by the time the model takes to
read the prompt tokens llama.cpp did not hold yet (``PromptReuse.read``), measured by evaluating exactly those
tokens again at the same positions: 1.0 means no overhead beyond the model's own reading. The cold-context
tokens/s (as ``bench/bench_prompt_eval.py`` measures it) is printed for reference; reading further into the
context is a little slower.

``followup``: the follow-up conversations of the split (``eval/data/conversations_<split>.jsonl``), each asked in a
new conversation after its first question, then its standalone question asked on its own after an unrelated
question (llama.cpp then holds another prompt). Prints time to the first token (the follow-up's includes its
rewrite) and prompt tokens read, for follow-ups whose excerpts repeat the previous answer's and for the others.
Run it with nothing else busy.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from rag.answering.answerer import Answer, Reading, Token
from rag.core.config import Config
from rag_eval.conversations import conversation_set, load_conversations
from rag_eval.datasets import dataset_path, load_questions
from rag_ingest.default_index import open_bundled_rag

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
RATE_TOKENS = 320
UNRELATED = "什么是 RLHF？"


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def reading_rate(rag) -> float:
    """Prompt tokens/s from a cold context, best of 3 (empties llama.cpp's cache)."""
    llm = rag.answerer.generator.llama
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("*.md")))
    tokens = llm.tokenize(text.encode("utf-8"))[:RATE_TOKENS]
    best = float("inf")
    for _ in range(3):
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        best = min(best, time.perf_counter() - started)
    llm.reset()
    return len(tokens) / best


def first_token(rag, question: str, chat=None) -> tuple[float, Answer, Reading | None]:
    """Seconds from asking to the first token (nan when the model wrote none), the answer and what the model read."""
    started, first, reading, answer = time.perf_counter(), float("nan"), None, None
    events = chat.stream(question) if chat is not None else rag.stream(question, mode="llm")
    for event in events:
        if isinstance(event, Reading):
            reading = event
        elif isinstance(event, Token) and first != first:
            first = time.perf_counter() - started
        elif isinstance(event, Answer):
            answer = event
    return first, answer, reading


class FirstPrompts:
    """Records each prompt the model reads and how many of its tokens it read anew (the rest llama.cpp still held):
    from `read`'s first progress report when the answerer reads the prompt first, else from `stream`'s `PromptReuse`."""

    def __init__(self, generator) -> None:
        self.generator, self.calls = generator, []
        read, stream = generator.read, generator.stream

        def recording_read(prompt, *args, **kwargs):
            for number, (done, total) in enumerate(read(prompt, *args, **kwargs)):
                if number == 0:
                    self.calls.append((prompt, total + 1))  # `stream` reads the last token
                yield done, total

        def recording_stream(prompt, *args, **kwargs):
            for number, piece in enumerate(stream(prompt, *args, **kwargs)):
                if number == 0 and not (self.calls and self.calls[-1][0] == prompt):
                    self.calls.append((prompt, generator.last_prompt.read))
                yield piece

        generator.read, generator.stream = recording_read, recording_stream

    def restore(self) -> None:
        del self.generator.read, self.generator.stream  # the generator's own methods again

    def own_reading(self) -> float:
        """Seconds the model takes to read the new part of the first prompt recorded, at the same positions: those
        tokens are evaluated again after the prefix that was cached (which a later draft's prompt only extends)."""
        prompt, read = self.calls[0]
        llm = self.generator.llama
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        llm.n_tokens = len(tokens) - read
        started = time.perf_counter()
        llm.eval(tokens[llm.n_tokens:])
        return time.perf_counter() - started


def fresh(rag, split: str, limit: int) -> None:
    questions = [q for q in load_questions(dataset_path(split)) if q.answerable][:limit]
    rag.ask(questions[-1].question, mode="llm")  # fills the cached system prompt
    prompts = FirstPrompts(rag.answerer.generator)
    rows = []
    for q in questions:
        prompts.calls.clear()
        seconds, _, _ = first_token(rag, q.question)
        if seconds != seconds or not prompts.calls:
            continue  # refused before the model read anything
        rows.append((seconds, prompts.calls[0][1], seconds / prompts.own_reading()))
    seconds, read, ratio = (list(column) for column in zip(*rows))
    print(f"\nFresh questions ({len(rows)} of '{split}', asked one after another):\n")
    print("| | p50 | p95 |\n|---|---:|---:|")
    print(f"| first token, s | {_p(seconds, 50):.2f} | {_p(seconds, 95):.2f} |")
    print(f"| prompt tokens read | {_p(read, 50):.0f} | {_p(read, 95):.0f} |")
    print(f"| first token ÷ the model's own reading of those tokens | {_p(ratio, 50):.2f} | {_p(ratio, 95):.2f} |")
    prompts.restore()


def followups(rag, split: str, limit: int) -> None:
    conversations = [c for c in load_conversations(conversation_set(split)) if c.type == "followup"][:limit]
    rows = []  # (excerpts repeat, follow-up s, its tokens read, same question fresh s, its tokens read)
    prompts = FirstPrompts(rag.answerer.generator)
    for conversation in conversations:
        chat = rag.conversation(mode="llm")
        previous = None
        for question in conversation.extra["history"]:
            _, _, previous = first_token(rag, question, chat)
        prompts.calls.clear()
        seconds, answer, reading = first_token(rag, conversation.question, chat)
        if reading is None or seconds != seconds:
            continue  # refused before the model read anything
        read = prompts.calls[1 if answer.standalone_method == "llm" else 0][1]  # after the model's rewrite, if any
        rag.ask(UNRELATED, mode="llm")  # the cache now holds another prompt, as for a new question
        prompts.calls.clear()
        fresh_seconds, _, _ = first_token(rag, answer.standalone_question)
        if fresh_seconds != fresh_seconds or not prompts.calls:
            continue
        repeats = previous is not None and reading.excerpts == previous.excerpts
        rows.append((repeats, seconds, read, fresh_seconds, prompts.calls[0][1]))
    print(f"\nFollow-ups ({len(conversations)} '{split}' conversations; the model answered {len(rows)}), each against "
          "its standalone question asked fresh (after another question):\n")
    print("| follow-ups | n | first token p50: follow-up / fresh (s) | fresh ÷ follow-up | tokens read p50: follow-up / fresh |")
    print("|---|---:|---:|---:|---:|")
    for name, keep in (("excerpts repeat the previous answer's", True), ("new excerpts", False), ("all", None)):
        group = [row for row in rows if keep is None or row[0] == keep]
        if not group:
            continue
        follow, fresh_s = _p([r[1] for r in group], 50), _p([r[3] for r in group], 50)
        print(f"| {name} | {len(group)} | {follow:.2f} / {fresh_s:.2f} | {fresh_s / follow:.2f}× | "
              f"{_p([r[2] for r in group], 50):.0f} / {_p([r[4] for r in group], 50):.0f} |")
    prompts.restore()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="tune")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--part", default="fresh,followup")
    args = parser.parse_args()
    rag = open_bundled_rag(config=Config.load(env={}), progress=False)
    rag.answerer.generator.warm_up()
    rate = reading_rate(rag)
    load_before = os.getloadavg()[0]
    print(f"Model reads {rate:.1f} prompt tokens/s from a cold context (best of 3, {RATE_TOKENS} tokens).")
    if "fresh" in args.part:
        fresh(rag, args.split, args.questions)
    if "followup" in args.part:
        followups(rag, args.split, args.conversations)
    print(f"\nLoad average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after.")


if __name__ == "__main__":
    main()
