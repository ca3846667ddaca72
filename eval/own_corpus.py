"""Refusals on a corpus with the shipped defaults and after ``rag calibrate``: the measure of self-calibration.

    python -m rag_eval.own_corpus                                  # the second corpus (eval/corpora/pkgdocs), its questions
    python -m rag_eval.own_corpus --corpus bundled --questions test   # the bundled corpus, its test part

The corpus is indexed into the evaluation cache (``~/.cache/rag/eval-own/<name>``; the bundled corpus's index is
copied there, so calibrating never changes the index the other evaluations use), calibrated once with the
configured models (no labels: `rag_ingest.calibration`), then every question is retrieved and judged by the
evidence alone (no LLM: the refusal before any generation) twice — with the shipped relevance model and with
the index's own. The question set's labels are used only here, to count. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

from rag.api import RAG
from rag.core.config import Config
from rag.core.paths import cache_dir, default_corpus_files
from rag.embedding.embedders import make_embedder
from rag.index.local import IndexStore
from rag.refusal.calibration import Calibration
from rag.refusal.policy import RefusalPolicy
from rag.refusal.relevance import DEFAULT_RELEVANCE
from rag_eval.datasets import EvalQuestion, dataset_path, load_questions
from rag_ingest.builder import IndexBuilder, copy_current_generation
from rag_ingest.calibration import calibrate_and_store
from rag_ingest.default_index import ensure_default_index

SECOND_CORPUS = Path(__file__).resolve().parent / "corpora" / "pkgdocs"
SECOND_QUESTIONS = Path(__file__).resolve().parent / "data" / "pkgdocs.jsonl"


def corpus_index(corpus: str, config: Config) -> Path:
    """The evaluation copy of a corpus's index (built or copied on first use)."""
    name = "bundled" if corpus == "bundled" else Path(corpus).name
    index_dir = cache_dir() / "eval-own" / name
    if corpus == "bundled":
        if not index_dir.exists() and not copy_current_generation(ensure_default_index(config), index_dir):
            IndexBuilder(config).build(default_corpus_files(), index_dir, progress=True)
        return index_dir
    files = sorted(p for p in Path(corpus).iterdir() if p.suffix in (".md", ".txt", ".pdf", ".docx", ".html"))
    builder = IndexBuilder(config)
    if builder.needs_build(files, index_dir):
        builder.build(files, index_dir, progress=True)
    return index_dir


def refusals(rag: RAG, questions: Sequence[EvalQuestion]) -> dict[str, float]:
    """Evidence-only refusals (the best hit's relevance under the threshold) by kind, and recall@5 of the answerable."""
    refused: Counter[str] = Counter()
    found = 0
    for question in questions:
        hits = rag.retrieve(question.question, k=5)
        kind = "answerable" if question.answerable else (question.subtype or "unanswerable")
        refused[kind] += not rag.is_answerable(hits)
        if question.answerable and any(g in hit.chunk.text for hit in hits for g in question.gold_substrings):
            found += 1
    totals = Counter("answerable" if q.answerable else (q.subtype or "unanswerable") for q in questions)
    return {"threshold": rag.min_relevance, "found@5": found, **{f"refused_{k}": refused[k] for k in totals},
            **{f"total_{k}": n for k, n in totals.items()}}


def table(rows: dict[str, dict[str, float]]) -> str:
    """Markdown: one row per refusal model."""
    first = next(iter(rows.values()))
    kinds = sorted(k[len("total_"):] for k in first if k.startswith("total_") and k != "total_answerable")
    head = ["refusal model", "threshold", "unanswerable refused", *[f"{k} refused" for k in kinds], "answerable wrongly refused"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        unanswerable = sum(r[f"total_{k}"] for k in kinds)
        caught = sum(r[f"refused_{k}"] for k in kinds)
        cells = [name, f"{r['threshold']:.3f}", f"{caught}/{unanswerable} ({caught / unanswerable:.0%})",
                 *[f"{r[f'refused_{k}']}/{r[f'total_{k}']}" for k in kinds],
                 f"{r['refused_answerable']}/{r['total_answerable']} ({r['refused_answerable'] / r['total_answerable']:.1%})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(SECOND_CORPUS), help="a folder of documents, or 'bundled'")
    parser.add_argument("--questions", default=str(SECOND_QUESTIONS), help="question set (a file, or tune/test/dev)")
    parser.add_argument("--recalibrate", action="store_true", help="calibrate again even when the index has a calibration")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    config = Config.load(env={})
    index_dir = corpus_index(args.corpus, config)
    embedder = make_embedder(config.embedder)
    if args.recalibrate or Calibration.from_manifest(IndexStore.open(index_dir).manifest) is None:
        result = calibrate_and_store(index_dir, config, progress=sys.stderr.isatty(), embedder=embedder)
        print(result.summary(), file=sys.stderr)
    store = IndexStore.open(index_dir, embedder_spec=embedder.spec)
    questions = load_questions(dataset_path(args.questions))
    rows = {
        "shipped defaults": refusals(RAG(store, config, embedder, refusal=RefusalPolicy(DEFAULT_RELEVANCE)), questions),
        "calibrated (rag calibrate)": refusals(RAG(store, config, embedder), questions),
    }
    record = store.manifest["calibration"]
    if args.json:
        print(json.dumps({"rows": rows, "calibration": record}, indent=2))
        return 0
    print(f"{len(questions)} questions ({args.questions}) over {store.manifest['counts']['documents']} documents, "
          f"{store.manifest['counts']['chunks']} passages ({index_dir}); evidence-only refusals; answerable questions "
          f"with a gold passage in the top 5: {rows['shipped defaults']['found@5']}/{rows['shipped defaults']['total_answerable']}.")
    print(f"Calibration: {record['questions']} generated questions by {record['generator']}, seed {record['seed']}.\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
