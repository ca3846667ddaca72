"""``rag eval``: a question set through every configuration, scored, summarised and reported in a run directory.

Writes ``questions.jsonl`` (one record per question and configuration), ``summary.json`` and
``report.md`` with PNG charts. Judge-free metrics always run; RAGAs' non-LLM metrics when ragas imports;
judged metrics only with a judge configured (otherwise the report says how to enable them).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from rag.api import RAG
from rag_eval import charts
from rag_eval.configs import RunConfig
from rag_eval.datasets import EvalQuestion
from rag_eval.judge import Judge
from rag_eval.ragas_support import RagasUnavailable
from rag_eval.run_report import render_report
from rag_eval.runio import QUESTIONS, REPORT, SUMMARY, write_json, write_records
from rag_eval.runner import Progress, run_config
from rag_eval.summary import summarize

JUDGE_HINT = ("no judge configured: set RAG_JUDGE_URL (+ RAG_JUDGE_MODEL, RAG_JUDGE_API_KEY) for an OpenAI-compatible "
              "endpoint, or RAG_JUDGE_GGUF=packaged|/path/model.gguf (or --judge-url / --judge-gguf)")


@dataclass
class RunResult:
    out: Path
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    skipped: dict[str, str] = field(default_factory=dict)


def default_out_dir(root: str | Path = "runs") -> Path:
    return Path(root) / datetime.now().strftime("%Y%m%d-%H%M%S")


def run_eval(
    rag: RAG,
    questions: Sequence[EvalQuestion],
    configs: Sequence[RunConfig],
    out: Path,
    dataset: str = "",
    judge: Judge | None = None,
    progress: Progress = lambda it, desc: it,
) -> RunResult:
    """Run, score and report; returns what was written."""
    started, clock = datetime.now().isoformat(timespec="seconds"), time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    records = [r for config in configs for r in run_config(rag, questions, config, progress)]
    skipped: dict[str, str] = {}
    notes: list[str] = []
    by_id = {q.id: q for q in questions}
    _add_nonllm(rag, records, by_id, skipped, notes, progress)
    _add_judged(rag, records, judge, skipped, progress)
    summary = summarize(records)
    run = {"started": started, "dataset": dataset, "index": str(rag.store.path), "questions": len(questions),
           "configs": [c.name for c in configs], "judge": getattr(judge, "name", None),
           "wall_s": time.perf_counter() - clock, "skipped": skipped, "notes": notes}
    drawn = [p.name for p in (charts.metric_bars(summary, out / "metrics.png"),
                              charts.latency_boxes(records, out / "latency_total.png"),
                              charts.latency_boxes(records, out / "latency_retrieve.png", key="retrieve_ms")) if p]
    write_records(out / QUESTIONS, records)
    write_json(out / SUMMARY, {"run": run, "configs": summary})
    (out / REPORT).write_text(render_report(run, summary, drawn), encoding="utf-8")
    return RunResult(out, records, summary, skipped)


def _add_nonllm(rag: RAG, records: list[dict], by_id: dict, skipped: dict, notes: list, progress: Progress) -> None:
    from rag_eval.ragas_nonllm import (
        METRICS,
        NonLLMContextScorer,
        derived_reference_contexts,
    )

    try:
        scorer = NonLLMContextScorer()
    except RagasUnavailable as exc:
        skipped.update({name: str(exc) for name in METRICS})
        return
    derived = 0
    for record in progress(records, "ragas non-LLM"):
        reference = record["reference_contexts"]
        if not reference and record["gold"]:
            reference = derived_reference_contexts(record["gold"], rag.store.chunks)
            derived += 1
        record["scores"].update(scorer(record["retrieved_contexts"], reference))
    if derived:
        notes.append(f"non_llm_context_*: {derived} records had no reference_contexts; their reference contexts are the "
                     "index passages containing a gold substring (see eval/ragas_nonllm.py).")


def _add_judged(rag: RAG, records: list[dict], judge: Judge | None, skipped: dict, progress: Progress) -> None:
    from rag_eval.ragas_judged import METRICS, JudgedScorer

    if judge is None:
        skipped.update({name: JUDGE_HINT for name in METRICS})
        return
    try:
        scorer = JudgedScorer(judge, rag.embedder)
    except RagasUnavailable as exc:
        skipped.update({name: str(exc) for name in METRICS})
        return
    for record in progress(records, "ragas judged"):
        if record["abstained"]:
            continue
        contexts = record["contexts"] or record["retrieved_contexts"]
        record["scores"].update(scorer(record["question"], record["answer"], contexts, record["reference"]))
    if not any(r["reference"] for r in records):
        skipped["context_recall"] = "the question set has no 'reference' answers (LLMContextRecall needs one)"

