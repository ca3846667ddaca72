"""``report.md`` of a run: what ran, metric tables per configuration, abstention, latency, skipped metrics."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

PERCENT_FREE = ("questions",)


def _cell(stats: Mapping[str, Any] | None) -> str:
    if not stats:
        return "–"
    mean = stats.get("mean")
    nan = f", {stats['nan']} NaN" if stats.get("nan") else ""
    value = "NaN" if mean is None or (isinstance(mean, float) and math.isnan(mean)) else f"{mean:.3f}"
    return f"{value} (n={stats['n']}{nan})"


def metrics_table(summary: Mapping[str, Mapping[str, Any]]) -> str:
    names = list(dict.fromkeys(m for s in summary.values() for m in s["metrics"]))
    lines = ["| config | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for config, s in summary.items():
        lines.append(f"| {config} | " + " | ".join(_cell(s["metrics"].get(m)) for m in names) + " |")
    return "\n".join(lines)


def abstention_table(summary: Mapping[str, Mapping[str, Any]]) -> str:
    lines = ["| config | unanswerable refused | answerable wrongly refused | LLM fallbacks |", "|---|---:|---:|---:|"]
    for config, s in summary.items():
        a = s["abstention"]
        lines.append(f"| {config} | {a['unanswerable_refused']}/{a['unanswerable']} | "
                     f"{a['answerable_refused']}/{a['answerable']} | {s['fallbacks']} |")
    return "\n".join(lines)


def latency_table(summary: Mapping[str, Mapping[str, Any]]) -> str:
    keys = list(dict.fromkeys(k for s in summary.values() for k in s["latency_ms"]))
    lines = ["| config | " + " | ".join(f"{k} p50 / p95" for k in keys) + " |", "|---|" + "---:|" * len(keys)]
    for config, s in summary.items():
        cells = [f"{s['latency_ms'][k]['p50']:.1f} / {s['latency_ms'][k]['p95']:.1f}" if k in s["latency_ms"] else "–" for k in keys]
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_report(run: Mapping[str, Any], summary: Mapping[str, Mapping[str, Any]], charts: Sequence[str]) -> str:
    """The whole report as Markdown; `run` is ``summary.json``'s ``run`` section."""
    parts = [
        f"# Evaluation run {run['started']}",
        f"Dataset `{run['dataset']}` ({run['questions']} questions), index `{run['index']}`, "
        f"configurations: {', '.join(run['configs'])}. Wall time {run['wall_s']:.1f} s.",
        "Each cell: mean over the questions the metric applies to (n), and how many could not be computed (NaN; "
        "never counted as 0). Retrieval metrics cover answerable questions with gold substrings; grounding covers "
        "non-refused answers; `raw_grounding` is the LLM's draft before the citation check.",
        "## Metrics", metrics_table(summary),
        "## Abstention", abstention_table(summary),
        "## Latency (ms)", latency_table(summary),
    ]
    if run.get("skipped"):
        parts += ["## Skipped metrics", "\n".join(f"- **{name}**: {why}" for name, why in run["skipped"].items())]
    if run.get("notes"):
        parts += ["## Notes", "\n".join(f"- {note}" for note in run["notes"])]
    if charts:
        parts += ["## Charts", "\n\n".join(f"![{c}]({c})" for c in charts)]
    return "\n\n".join(parts) + "\n"
