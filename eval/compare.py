"""``rag eval --compare RUN_A RUN_B``: per-metric deltas of two runs and the questions that got worse."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rag_eval.runio import QUESTIONS, SUMMARY, read_json, read_records

LOWER_IS_BETTER = ("_ms",)


def metric_deltas(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, float, float, float]]:
    """``(config, metric, mean A, mean B, B - A)`` for every metric both summaries have."""
    rows = []
    for config in a["configs"]:
        if config not in b["configs"]:
            continue
        ma, mb = a["configs"][config]["metrics"], b["configs"][config]["metrics"]
        for metric in ma:
            if metric in mb:
                va, vb = _mean(ma[metric]), _mean(mb[metric])
                rows.append((config, metric, va, vb, vb - va))
    return rows


def worse_questions(a: list[dict], b: list[dict], threshold: float = 1e-9) -> list[tuple[str, str, str, float, float]]:
    """``(config, id, metric, A, B)`` where B scored lower than A (refusal flips reported as metric ``abstained``)."""
    index = {(r["config"], r["id"]): r for r in a}
    rows = []
    for rb in b:
        ra = index.get((rb["config"], rb["id"]))
        if ra is None:
            continue
        for metric, vb in rb["scores"].items():
            va = ra["scores"].get(metric)
            if va is not None and vb is not None and va - vb > threshold:
                rows.append((rb["config"], rb["id"], metric, float(va), float(vb)))
        if ra["abstained"] != rb["abstained"] and rb["abstained"] == rb["answerable"]:
            rows.append((rb["config"], rb["id"], "abstained", float(ra["abstained"]), float(rb["abstained"])))
    return rows


def compare_runs(run_a: str | Path, run_b: str | Path) -> str:
    """A Markdown comparison of two run directories."""
    a, b = Path(run_a), Path(run_b)
    deltas = metric_deltas(read_json(a / SUMMARY), read_json(b / SUMMARY))
    lines = [f"# {a.name} → {b.name}", "", "| config | metric | A | B | Δ |", "|---|---|---:|---:|---:|"]
    lines += [f"| {c} | {m} | {va:.3f} | {vb:.3f} | {d:+.3f} |" for c, m, va, vb, d in deltas]
    worse = worse_questions(read_records(a / QUESTIONS), read_records(b / QUESTIONS))
    lines += ["", f"## Questions that got worse ({len(worse)})", ""]
    by_question = {(r["config"], r["id"]): r["question"] for r in read_records(b / QUESTIONS)}
    lines += [f"- [{c}] {qid} {metric}: {va:.3f} → {vb:.3f}  ({by_question[(c, qid)]})" for c, qid, metric, va, vb in worse]
    return "\n".join(lines) + "\n"


def _mean(stats: dict[str, Any]) -> float:
    value = stats.get("mean")
    return math.nan if value is None else float(value)
