"""A design tried for the citation check and not kept: the answering model asked, per sentence, whether its cited
passage states it (a yes/no token probability), on top of the check.

    python -m rag_eval.support_verifier --part fit            # choose the threshold here
    python -m rag_eval.support_verifier --part test --threshold 0.85

For each labelled sentence (`rag_eval.support_check`), the model reads the two sentences of its cited passages closest
to it in meaning and the sentence, and answers 是/否; a sentence counts as accepted when the check keeps it *and* the
model's yes-probability reaches the threshold. Prints false accepts and false rejects for the check alone and with the
model, and the seconds per sentence (docs/answers.md has the results).
"""
from __future__ import annotations

import argparse
import time
from typing import Mapping, Sequence

import numpy as np

from rag.api import RAG
from rag.core.schema import Chunk
from rag.core.text import split_sentences
from rag.generation.chat import eos_text, neutralise, render_chat
from rag.retrieval.rerankers import NO_WORDS, YES_WORDS
from rag_eval.support_check import LabelledSentence, accepted, load_labels

SYSTEM = "判断资料是否陈述了这句话。Judge whether the passage states the sentence."
ASK = "资料陈述了这句话吗？只回答“是”或“否”。Does the passage state it? Reply 是 or 否."
CLOSEST = 2


def closest_sentences(rag: RAG, item: LabelledSentence, chunks: Mapping[str, Chunk]) -> str:
    """The `CLOSEST` sentences of the cited passages nearest the item's sentence in meaning, in passage order."""
    sentences = [chunks[cid].text[a:b].strip() for cid in item.cited for a, b in split_sentences(chunks[cid].text)]
    sentences = [s for s in sentences if s]
    similarity = rag.embedder.embed_passages(sentences) @ rag.embedder.embed_queries([item.sentence])[0]
    return " … ".join(sentences[i] for i in sorted(np.argsort(-similarity)[:CLOSEST]))


def yes_probability(rag: RAG, item: LabelledSentence, chunks: Mapping[str, Chunk]) -> float:
    generator = rag.answerer.generator
    user = (f"资料 Passage：\n{neutralise(closest_sentences(rag, item, chunks))}\n\n"
            f"句子 Sentence：{neutralise(item.sentence)}\n\n{ASK}")
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    prompt = render_chat(generator.chat_template, messages, eos_token=eos_text(generator))
    return generator.yes_probability(prompt, YES_WORDS, NO_WORDS)


def rates(items: Sequence[LabelledSentence], kept: Sequence[bool]) -> tuple[float, float]:
    """(false accept rate, false reject rate)."""
    wrong = [k for item, k in zip(items, kept) if not item.right]
    right = [k for item, k in zip(items, kept) if item.right]
    return sum(wrong) / max(len(wrong), 1), sum(not k for k in right) / max(len(right), 1)


def main() -> None:
    from rag.core.config import Config
    from rag_ingest.default_index import open_bundled_rag

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="fit", choices=["fit", "test", "all"])
    parser.add_argument("--threshold", type=float, action="append", help="yes-probability floors to report (repeatable)")
    args = parser.parse_args()
    rag = open_bundled_rag(config=Config.load(env={}), progress=False)
    chunks = {chunk.id: chunk for chunk in rag.store.chunks}
    items = [i for i in load_labels() if args.part == "all" or i.part == args.part]
    checked = [accepted(rag.answerer.checker, item, chunks) for item in items]
    started = time.perf_counter()
    probabilities = [yes_probability(rag, item, chunks) for item in items]
    seconds = (time.perf_counter() - started) / max(len(items), 1)
    print(f"{len(items)} labelled sentences ({args.part}); the model's check {seconds:.2f} s per sentence")
    print(f"check alone: false accepts {rates(items, checked)[0]:.1%}, false rejects {rates(items, checked)[1]:.1%}")
    for floor in args.threshold or [0.7, 0.8, 0.85, 0.9, 0.95]:
        kept = [c and p >= floor for c, p in zip(checked, probabilities)]
        false_accepts, false_rejects = rates(items, kept)
        print(f"with the model, yes ≥ {floor}: false accepts {false_accepts:.1%}, false rejects {false_rejects:.1%}")


if __name__ == "__main__":
    main()
