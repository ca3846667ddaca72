"""PNG charts of a run (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

BAR_METRICS = ("recall@5", "mrr@10", "ndcg@10", "grounding", "gold_citation_share",
               "non_llm_context_recall", "non_llm_context_precision", "faithfulness", "context_recall", "answer_relevancy")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def metric_bars(summary: Mapping[str, Mapping[str, Any]], path: Path, metrics: Sequence[str] = BAR_METRICS) -> Path | None:
    """Grouped bars: one group per metric, one bar per configuration (metrics no config computed are left out)."""
    shown = [m for m in metrics if any(not _nan(s["metrics"].get(m, {}).get("mean")) for s in summary.values())]
    if not shown:
        return None
    plt = _pyplot()
    configs = list(summary)
    width = 0.8 / len(configs)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(shown) + 2), 4), layout="constrained")
    for i, name in enumerate(configs):
        values = [summary[name]["metrics"].get(m, {}).get("mean") for m in shown]
        ax.bar([x + i * width for x in range(len(shown))], [0 if _nan(v) else v for v in values], width, label=name)
    ax.set_xticks([x + width * (len(configs) - 1) / 2 for x in range(len(shown))], shown, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over scored questions")
    fig.legend(loc="outside right upper", fontsize="small")
    ax.set_title("Metrics per configuration")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_boxes(records: Sequence[Mapping[str, Any]], path: Path, key: str = "total_ms") -> Path | None:
    """Box plot of one timing per configuration (log scale: extractive and LLM differ 100-fold)."""
    by_config: dict[str, list[float]] = {}
    for record in records:
        if key in record.get("timings", {}):
            by_config.setdefault(record["config"], []).append(record["timings"][key])
    if not by_config:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(by_config) + 2), 4))
    ax.boxplot(list(by_config.values()), tick_labels=list(by_config), showfliers=True)
    ax.set_yscale("log")
    ax.set_ylabel(f"{key} (log scale)")
    ax.set_title(f"Latency per question: {key}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
