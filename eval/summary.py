"""Per-configuration summary of a run's question records (what ``summary.json`` holds)."""
from __future__ import annotations

import math
from typing import Any, Sequence

from rag_eval.stats import mean_with_failures, percentile

TIMING_KEYS = ("first_stage_ms", "rerank_ms", "retrieve_ms", "first_token_ms", "generate_ms", "translate_ms", "total_ms")


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{config: {"questions", "metrics": {name: {mean, n, nan}}, "abstention", "latency_ms", "fallbacks"}}``."""
    by_config: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_config.setdefault(record["config"], []).append(record)
    return {name: _summarize_config(rows) for name, rows in by_config.items()}


def _summarize_config(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    names = list(dict.fromkeys(name for row in rows for name in row["scores"]))
    metrics = {name: mean_with_failures(_number(row["scores"][name]) for row in rows if name in row["scores"]) for name in names}
    answerable = [row for row in rows if row["answerable"]]
    unanswerable = [row for row in rows if not row["answerable"]]
    latency = {}
    for key in TIMING_KEYS:
        values = [row["timings"][key] for row in rows if key in row.get("timings", {})]
        if values:
            latency[key] = {"p50": percentile(values, 50), "p95": percentile(values, 95), "n": len(values)}
    return {
        "questions": len(rows),
        "metrics": metrics,
        "abstention": {
            "unanswerable": len(unanswerable),
            "unanswerable_refused": sum(row["abstained"] for row in unanswerable),
            "answerable": len(answerable),
            "answerable_refused": sum(row["abstained"] for row in answerable),
        },
        "latency_ms": latency,
        "fallbacks": sum(row.get("fallback") is not None for row in rows),
    }


def _number(value: Any) -> float:
    """A stored score; None (how NaN is written to JSON) reads back as NaN."""
    return math.nan if value is None else float(value)
