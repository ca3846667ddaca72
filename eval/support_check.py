"""The citation check as a classifier of answer sentences: false accepts and false rejects on a labelled set.

`eval/data/support_labels.jsonl` holds answer sentences from the packaged model's drafts on the bundled
questions (tuning- and test-part runs), each with the passage(s) it cites and a label: ``right`` (the cited passage states it; English
paraphrases of Chinese passages included) or ``wrong`` — a claim cited to the wrong passage, generic filler,
a swapped entity or number, a true statement the cited passage does not make (``kind`` says which). Each
item is in the ``fit`` part (where the check's settings are chosen) or the ``test`` part (reported only).

A sentence is *accepted* when the check keeps it with its own citation: `CitationChecker.check` on the
sentence marked with the passages it cites, given only those passages.

    python -m rag_eval.support_check [--index DIR] [--part test] [--draft RUN.jsonl]
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from rag.answering.citations import CitationChecker, answer_sentences, parse_markers
from rag.core.language import detect_language
from rag.core.schema import Chunk

LABELS = Path(__file__).resolve().parent / "data" / "support_labels.jsonl"


@dataclass(frozen=True)
class LabelledSentence:
    id: str
    question: str
    sentence: str
    cited: tuple[str, ...]
    """Chunk ids of the passages the sentence cites."""
    right: bool
    kind: str
    part: str


def load_labels(path: Path = LABELS) -> list[LabelledSentence]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            items.append(LabelledSentence(r["id"], r["question"], r["sentence"], tuple(r["cited"]), r["label"] == "right",
                                          r.get("kind", ""), r.get("part", "fit")))
    return items


def accepted(checker: CitationChecker, item: LabelledSentence, chunks: Mapping[str, Chunk]) -> bool:
    """Whether the check keeps `item` with its own citations."""
    passages = {n: chunks[chunk_id] for n, chunk_id in enumerate(item.cited, start=1)}
    marked = item.sentence.rstrip("。.") + "".join(f"[{n}]" for n in passages) + ("。" if detect_language(item.sentence) == "zh" else ".")
    checked = checker.check(marked, passages, detect_language(item.question), question=item.question)
    return any(s.status == "kept" for s in checked.sentences)


def error_rates(checker: CitationChecker, items: Iterable[LabelledSentence], chunks: Mapping[str, Chunk]) -> dict[str, float]:
    """``{"right", "wrong", "false_accepts", "false_rejects", "false_accept_rate", "false_reject_rate"}``."""
    right = wrong = false_accepts = false_rejects = 0
    for item in items:
        keep = accepted(checker, item, chunks)
        if item.right:
            right += 1
            false_rejects += not keep
        else:
            wrong += 1
            false_accepts += keep
    return {
        "right": float(right), "wrong": float(wrong), "false_accepts": float(false_accepts),
        "false_rejects": float(false_rejects), "false_accept_rate": false_accepts / max(wrong, 1),
        "false_reject_rate": false_rejects / max(right, 1),
    }


def draft_sentences(records: Sequence[Mapping], passages: int = 4) -> list[dict]:
    """Candidate items from an answer run's records (``rag eval answers --out``, LLM mode): every sentence of the
    model's raw draft that carries a marker, with the chunk ids it cites (the prompt numbered the first
    `passages` hits 1..n). Unlabelled: a person reads each against its passage and labels it."""
    items = []
    for record in records:
        if record.get("mode") != "llm" or not record.get("raw"):
            continue
        numbered = {n: hit["chunk_id"] for n, hit in enumerate(record["hits"][:passages], start=1)}
        for index, sentence in enumerate(answer_sentences(record["raw"].replace("\n", "。"))):
            text, cited = parse_markers(sentence)
            cited_ids = [numbered[n] for n in cited if n in numbered]
            if cited_ids and text:
                items.append({"id": f"{record['id']}-{index}", "question": record["question"], "sentence": text,
                              "cited": cited_ids, "label": "", "kind": "draft"})
    return items


def main() -> None:
    import argparse

    from rag.core.config import Config
    from rag_ingest.default_index import open_bundled_rag

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="the index the labels' chunk ids come from (default: the bundled corpus's)")
    parser.add_argument("--part", default="test", choices=["fit", "test", "all"])
    parser.add_argument("--draft", help="print unlabelled candidate sentences from this answer run (JSONL) and exit")
    args = parser.parse_args()
    if args.draft:
        records = [json.loads(line) for line in Path(args.draft).read_text(encoding="utf-8").splitlines() if line.strip()]
        for item in draft_sentences(records):
            print(json.dumps(item, ensure_ascii=False))
        return
    config = Config.load(env={}, overrides={"index_dir": args.index})
    rag = open_bundled_rag(config=config, progress=False)
    chunks = {chunk.id: chunk for chunk in rag.store.chunks}
    items = [i for i in load_labels() if args.part == "all" or i.part == args.part]
    print(json.dumps(error_rates(rag.answerer.checker, items, chunks), indent=2))


if __name__ == "__main__":
    main()
