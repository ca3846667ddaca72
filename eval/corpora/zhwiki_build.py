"""Builds `eval/corpora/zhwiki` and its question sets from the CMRC 2018 development set (run once, kept for the record).

    python eval/corpora/zhwiki_build.py cmrc2018_dev.json

CMRC 2018 (https://github.com/ymcui/cmrc2018, CC BY-SA 4.0) holds paragraphs of Chinese Wikipedia articles, each
with questions whose answers are spans of the paragraph. 80 articles, drawn with a fixed seed, become plain-text
documents (title line, paragraph); one question per article becomes an answerable question (the first 40 articles'
go to the tuning set, the other 40's to the test set), and one question each from 20 articles left out of the corpus
an unanswerable one (10 per set). Gold: the annotators' answers, all of them spans of the paragraph; key fact: the
shortest answer that every other answer contains (else the first).
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "zhwiki"
DATA = HERE.parent / "data"
ARTICLES, UNANSWERABLE, SEED = 80, 20, 2018


def key_fact(answers: list[str]) -> str:
    """The shortest answer contained in every other one, else the first."""
    for answer in sorted(set(answers), key=len):
        if all(answer in other for other in answers):
            return answer
    return answers[0]


def question_record(qid: str, qa: dict, answerable: bool) -> dict:
    answers = [a.strip() for a in qa["answers"] if a.strip()]
    record = {"id": qid, "question": qa["query_text"].strip(), "lang": "zh", "type": "factoid", "answerable": answerable}
    if answerable:
        record["gold_substrings"] = sorted(set(answers), key=answers.index)
        record["key_facts"] = [key_fact(answers)]
    return record


def main(source: str) -> None:
    contexts = [c for c in json.loads(Path(source).read_text(encoding="utf-8")) if c["title"].strip() and c["qas"]]
    rng = random.Random(SEED)
    rng.shuffle(contexts)
    chosen, absent = contexts[:ARTICLES], contexts[ARTICLES:ARTICLES + UNANSWERABLE]
    CORPUS.mkdir(exist_ok=True)
    documents = []
    sets: dict[str, list[dict]] = {"tune": [], "test": []}
    for index, context in enumerate(chosen):
        name = f"w{index:02d}.txt"
        text = f"{context['title'].strip()}\n\n{context['context_text'].strip()}\n"
        (CORPUS / name).write_text(text, encoding="utf-8")
        documents.append({"file": name, "title": context["title"].strip(), "cmrc_context_id": context["context_id"],
                          "chars": len(text)})
        qa = [q for q in context["qas"] if all(a.strip() in context["context_text"] for a in q["answers"])]
        part = "tune" if index < ARTICLES // 2 else "test"
        sets[part].append(question_record(f"zw{index:02d}", rng.choice(qa), True))
    for index, context in enumerate(absent):
        part = "tune" if index < UNANSWERABLE // 2 else "test"
        sets[part].append(question_record(f"zu{index:02d}", rng.choice(context["qas"]), False))
    manifest = {
        "about": "Chinese Wikipedia paragraphs from the CMRC 2018 development set (CC BY-SA 4.0, "
                 "https://github.com/ymcui/cmrc2018): plain-text encyclopedic documents unlike the bundled Markdown "
                 "interview notes, with extractive questions (eval/data/zhwiki_tune.jsonl, zhwiki_test.jsonl). Built by "
                 "eval/corpora/zhwiki_build.py; choices are made on the tuning set, the test set is reported.",
        "licence": "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), as CMRC 2018 and the Chinese "
                   "Wikipedia text it quotes; the paragraphs are unchanged apart from the title line added above each",
        "documents": documents,
    }
    (CORPUS / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for part, records in sets.items():
        lines = [json.dumps(r, ensure_ascii=False) for r in records]
        (DATA / f"zhwiki_{part}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{part}: {sum(r['answerable'] for r in records)} answerable, {sum(not r['answerable'] for r in records)} unanswerable")


if __name__ == "__main__":
    main(sys.argv[1])
